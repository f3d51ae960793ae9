package audio

import (
	"math"
	"testing"

	"github.com/termcall/termcall/audio/audiotest"
)

func TestOpusRoundTrip(t *testing.T) {
	enc, err := NewEncoder()
	if err != nil {
		t.Fatal(err)
	}
	if br, _ := enc.Bitrate(); br < 24000 || br > 32000 {
		t.Errorf("bitrate %d", br)
	}
	dec, err := NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	in := audiotest.Tone(1000, 0.3, 50*FrameSamples, SampleRate)
	var out []int16
	pkt := make([]byte, MaxPacketSize)
	pcm := make([]int16, 5760)
	total := 0
	for i := 0; i < 50; i++ {
		n, err := enc.Encode(in[i*FrameSamples:(i+1)*FrameSamples], pkt)
		if err != nil {
			t.Fatal(err)
		}
		total += n
		k, err := dec.Decode(pkt[:n], pcm)
		if err != nil || k != FrameSamples {
			t.Fatalf("decode: %d %v", k, err)
		}
		out = append(out, pcm[:k]...)
	}
	if kbps := float64(total*8) / 1000; kbps > 40 {
		t.Errorf("%.1f kbit/s", kbps)
	}
	if f := audiotest.ToneFreq(out[4800:], SampleRate); math.Abs(f-1000) > 1 {
		t.Errorf("decoded tone at %.2f Hz", f)
	}
	if _, err := dec.Decode(nil, pcm); err == nil {
		t.Error("empty packet decoded")
	}
	if err := enc.SetPacketLossPerc(101); err == nil {
		t.Error("loss 101% accepted")
	}
}

// TestOpusFECBeatsPLC: a lost frame rebuilt from the next packet's FEC
// data is closer to the original than plain concealment.
func TestOpusFECBeatsPLC(t *testing.T) {
	speech := audiotest.Speech(3, 150*FrameSamples, SampleRate)
	snr := map[string]float64{}
	for _, mode := range []string{"fec", "plc"} {
		out := decodeWithLoss(t, encodeFrames(t, speech, 150), mode)
		snr[mode] = lostFramesSNR(speech, out, 150)
	}
	t.Logf("SNR of lost frames: FEC %.1f dB, PLC %.1f dB", snr["fec"], snr["plc"])
	if snr["fec"] < snr["plc"]+1 {
		t.Errorf("FEC (%.1f dB) not better than PLC (%.1f dB)", snr["fec"], snr["plc"])
	}
}

// encodeFrames encodes n frames of pcm for 20% loss (with in-band FEC).
func encodeFrames(t *testing.T, pcm []int16, n int) [][]byte {
	t.Helper()
	enc, _ := NewEncoder()
	_ = enc.SetPacketLossPerc(20)
	var pkts [][]byte
	for i := 0; i < n; i++ {
		b := make([]byte, MaxPacketSize)
		n, err := enc.Encode(pcm[i*FrameSamples:(i+1)*FrameSamples], b)
		if err != nil {
			t.Fatal(err)
		}
		pkts = append(pkts, b[:n])
	}
	return pkts
}

// decodeWithLoss decodes pkts with every 7th (from the 4th) lost, filled by
// the next packet's FEC (mode "fec") or by PLC.
func decodeWithLoss(t *testing.T, pkts [][]byte, mode string) []int16 {
	t.Helper()
	dec, _ := NewDecoder()
	out := make([]int16, len(pkts)*FrameSamples)
	for i := range pkts {
		frame := out[i*FrameSamples : (i+1)*FrameSamples]
		lost := i%7 == 3
		switch {
		case lost && mode == "fec":
			err := dec.DecodeFEC(pkts[i+1], frame)
			if err != nil {
				t.Fatal(err)
			}
		case lost:
			if err := dec.DecodePLC(frame); err != nil {
				t.Fatal(err)
			}
		default:
			if _, err := dec.Decode(pkts[i], frame); err != nil {
				t.Fatal(err)
			}
		}
	}
	return out
}

// lostFramesSNR is the SNR of out against speech over the lost frames
// only, aligned by the codec delay.
func lostFramesSNR(speech, out []int16, n int) float64 {
	var e, s float64
	lag, _ := audiotest.XCorrDelay(speech, out, 1000)
	for i := 0; i < n; i++ {
		if i%7 != 3 {
			continue
		}
		for j := i * FrameSamples; j < (i+1)*FrameSamples && j+lag < len(out); j++ {
			d := float64(out[j+lag]) - float64(speech[j])
			e += d * d
			s += float64(speech[j]) * float64(speech[j])
		}
	}
	return audiotest.DB(s / e)
}

func BenchmarkOpusEncodeDecode(b *testing.B) {
	enc, _ := NewEncoder()
	dec, _ := NewDecoder()
	in := audiotest.Speech(1, 50*FrameSamples, SampleRate)
	pkt := make([]byte, MaxPacketSize)
	pcm := make([]int16, FrameSamples)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		k := (i % 50) * FrameSamples
		n, err := enc.Encode(in[k:k+FrameSamples], pkt)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := dec.Decode(pkt[:n], pcm); err != nil {
			b.Fatal(err)
		}
	}
}
