package engine

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// TestNackOnRead: the engine's generator (nackOptions, added in
// media_api.go) asks the server for a gap on the very read that shows it,
// with no timer of its own. The generator's own tests: internal/rtpnack.
func TestNackOnRead(t *testing.T) {
	it, err := nackGeneratorFactory{}.NewInterceptor("")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = it.Close() }()
	var nacked [][]uint16
	it.BindRTCPWriter(interceptor.RTCPWriterFunc(func(pkts []rtcp.Packet, _ interceptor.Attributes) (int, error) {
		for _, p := range pkts {
			if n, ok := p.(*rtcp.TransportLayerNack); ok && n.MediaSSRC == 5 {
				var seqs []uint16
				for _, pair := range n.Nacks {
					seqs = append(seqs, pair.PacketList()...)
				}
				nacked = append(nacked, seqs)
			}
		}
		return 0, nil
	}))
	var seq uint16
	src := interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: opusPayloadType, SequenceNumber: seq, SSRC: 5}, Payload: []byte{1}}
		n, err := p.MarshalTo(b)
		return n, a, err
	})
	read := it.BindRemoteStream(&interceptor.StreamInfo{SSRC: 5, RTCPFeedback: []interceptor.RTCPFeedback{{Type: "nack"}}}, src)
	buf := make([]byte, 1500)
	for _, c := range []struct {
		seq  uint16
		want [][]uint16
	}{{1, nil}, {2, nil}, {5, [][]uint16{{3, 4}}}} {
		seq = c.seq
		if _, _, err := read.Read(buf, nil); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(c.want, nacked); diff != "" {
			t.Fatalf("after packet %d: NACKs (-want +got):\n%s", c.seq, diff)
		}
	}
}
