package control

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"sync"

	"github.com/termcall/termcall/protocol"
)

// Client is a connection to a control socket (termcall ctl). Its methods
// are safe for concurrent use; replies are matched to commands by id.
type Client struct {
	nc     net.Conn
	mu     sync.Mutex
	next   int
	wait   map[string]chan Reply
	events chan json.RawMessage
	done   chan struct{}
	err    error
}

// Dial connects to a control address (as Listen takes it).
func Dial(ctx context.Context, addr string) (*Client, error) {
	network, where, err := ParseAddr(addr)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, network, where)
	if err != nil {
		return nil, protocol.Errorf(protocol.CodeControlUnavailable, "%s: %w (is the call running with --control?)", addr, err)
	}
	c := &Client{nc: nc, wait: make(map[string]chan Reply), events: make(chan json.RawMessage, eventQueue), done: make(chan struct{})}
	go c.read()
	return c, nil
}

func (c *Client) read() {
	defer close(c.done)
	defer close(c.events)
	sc := bufio.NewScanner(c.nc)
	sc.Buffer(make([]byte, 4096), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var probe struct {
			Event *string         `json:"event"`
			ID    json.RawMessage `json:"id"`
		}
		if json.Unmarshal(line, &probe) != nil {
			continue
		}
		if probe.Event != nil {
			ev := append(json.RawMessage(nil), line...)
			select {
			case c.events <- ev:
			default: // the reader is not keeping up; drop
			}
			continue
		}
		var rep Reply
		if json.Unmarshal(line, &rep) != nil {
			continue
		}
		c.mu.Lock()
		ch := c.wait[string(rep.ID)]
		delete(c.wait, string(rep.ID))
		c.mu.Unlock()
		if ch != nil {
			ch <- rep
		}
	}
	c.mu.Lock()
	c.err = sc.Err()
	if c.err == nil {
		c.err = fmt.Errorf("connection closed")
	}
	c.mu.Unlock()
}

// Do sends one command and waits for its reply. A command that failed
// returns the reply and its error (a *protocol.Error).
func (c *Client) Do(ctx context.Context, cmd string, args ...string) (Reply, error) {
	c.mu.Lock()
	c.next++
	id := strconv.Itoa(c.next)
	ch := make(chan Reply, 1)
	c.wait[id] = ch
	c.mu.Unlock()
	b, _ := json.Marshal(Request{ID: json.RawMessage(id), Cmd: cmd, Args: args})
	if _, err := c.nc.Write(append(b, '\n')); err != nil {
		return Reply{}, protocol.Errorf(protocol.CodeControlUnavailable, "%w", err)
	}
	select {
	case rep := <-ch:
		return rep.result()
	case <-c.done:
		// The reply may have arrived just before the connection closed
		// (hangup ends the call and the process with it).
		select {
		case rep := <-ch:
			return rep.result()
		default:
		}
		c.mu.Lock()
		err := c.err
		c.mu.Unlock()
		return Reply{}, protocol.Errorf(protocol.CodeControlUnavailable, "%w", err)
	case <-ctx.Done():
		return Reply{}, ctx.Err()
	}
}

// result is the reply and, for a failed command, its error.
func (rep Reply) result() (Reply, error) {
	if rep.Error != nil {
		return rep, rep.Error.Err()
	}
	return rep, nil
}

// Events delivers the event lines after a subscribe command; it is closed
// when the connection ends.
func (c *Client) Events() <-chan json.RawMessage { return c.events }

// Close closes the connection.
func (c *Client) Close() error {
	err := c.nc.Close()
	<-c.done
	return err
}
