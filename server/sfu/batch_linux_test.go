package sfu

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// TestBatchConn: packets from concurrent writers all arrive, intact and
// once each, and a closed conn refuses writes.
func TestBatchConn(t *testing.T) {
	rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	_ = rx.SetReadBuffer(8 << 20)
	txc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	tx := newBatchConn(txc).(*batchConn)
	to := rx.LocalAddr().(*net.UDPAddr).AddrPort()

	const writers, each = 4, 300
	got := map[uint32]int{}
	recvDone := make(chan error, 1)
	go func() { recvDone <- readBatchPackets(rx, got, writers*each) }()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := writeBatchPackets(tx, to, w, each); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if err := <-recvDone; err != nil {
		t.Fatalf("after %d packets: %v", len(got), err)
	}
	for id, n := range got {
		if n != 1 {
			t.Errorf("packet %d arrived %d times", id, n)
		}
	}
	tx.mu.Lock()
	batches := tx.flushed
	tx.mu.Unlock()
	t.Logf("%d packets in %d sendmmsg batches", writers*each, batches)
	if err := tx.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.WriteToAddrPort([]byte("x"), netip.MustParseAddrPort("127.0.0.1:9")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("write after Close: %v, want net.ErrClosed", err)
	}
}

// readBatchPackets reads total packets of writeBatchPackets into got (the
// times each id arrived), checking their size and payload.
func readBatchPackets(rx *net.UDPConn, got map[uint32]int, total int) error {
	buf := make([]byte, 2000)
	for len(got) < total {
		_ = rx.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := rx.Read(buf)
		if err != nil {
			return err
		}
		if n != 200 {
			return errors.New("a packet of the wrong size")
		}
		id := binary.BigEndian.Uint32(buf)
		for _, c := range buf[4:n] {
			if c != byte(id) {
				return errors.New("a packet with corrupt payload")
			}
		}
		got[id]++
	}
	return nil
}

// writeBatchPackets writes writer w's each packets of 200 bytes: a
// 4-byte id, then the id's low byte repeated.
func writeBatchPackets(tx *batchConn, to netip.AddrPort, w, each int) error {
	p := make([]byte, 200)
	for i := range each {
		id := uint32(w*each + i)
		binary.BigEndian.PutUint32(p, id)
		for j := 4; j < len(p); j++ {
			p[j] = byte(id)
		}
		if n, err := tx.WriteToAddrPort(p, to); err != nil || n != len(p) {
			return fmt.Errorf("write: %d, %w", n, err)
		}
		if i%50 == 0 {
			time.Sleep(time.Millisecond) // let the receiver keep up
		}
	}
	return nil
}
