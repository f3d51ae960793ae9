package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Device is one logged-in device of a user and the node holding its
// WebSocket.
type Device struct {
	User   string `json:"user"`
	Device string `json:"device"`
	Node   string `json:"node"`
	Multi  bool   `json:"multi,omitempty"` // multi-device enabled
}

// PresenceChange is one change seen by Presence.Watch.
type PresenceChange struct {
	Device Device // on Gone, only User and Device are set
	Gone   bool
}

// Presence maps user -> devices -> node, in one bucket under the keys
// <Token(user)>.<Token(device)>, and keeps each user's single-device login
// slot (Takeover) in another, under <Token(user)>.
type Presence struct{ kv, logins KV }

// NewPresence uses the buckets kv (devices) and logins (login slots).
func NewPresence(kv, logins KV) *Presence { return &Presence{kv: kv, logins: logins} }

// Takeover makes d the user's one logged-in device (a login without
// multi-device) and returns the device it displaced, if any: that one is
// to be kicked (on whichever node holds it). Concurrent takeovers of one
// user are ordered by compare-and-set on the user's slot: each displaces
// exactly the one before it, so every device but the last is kicked
// exactly once. It does not touch the devices map (Put does).
func (p *Presence) Takeover(ctx context.Context, d Device) (displaced *Device, err error) {
	key := Token(d.User)
	val, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	for {
		prev, retry, err := p.swapLogin(ctx, key, val)
		if retry {
			continue
		}
		if err != nil || prev == nil {
			return nil, err
		}
		if prev.Device == d.Device && prev.Node == d.Node {
			return nil, nil // the same device again (a resume)
		}
		return prev, nil
	}
}

// swapLogin puts val in the user's login slot key and returns the device
// it held before (nil for an empty slot). retry: someone changed the slot
// meanwhile; read it again.
func (p *Presence) swapLogin(ctx context.Context, key string, val []byte) (prev *Device, retry bool, err error) {
	e, err := p.logins.Get(ctx, key)
	if errors.Is(err, ErrNotFound) {
		_, err = p.logins.Create(ctx, key, val)
		if errors.Is(err, ErrExists) || errors.Is(err, ErrRevision) {
			return nil, true, nil // someone logged in meanwhile: displace them
		}
		return nil, false, err
	}
	if err != nil {
		return nil, false, err
	}
	held, err := decodeDevice(e)
	if err != nil {
		return nil, false, err
	}
	_, err = p.logins.Update(ctx, key, val, e.Rev)
	if errors.Is(err, ErrRevision) {
		return nil, true, nil
	}
	if err != nil {
		return nil, false, err
	}
	return &held, false, nil
}

// ReleaseLogin empties the user's login slot if d still holds it (its
// logout).
func (p *Presence) ReleaseLogin(ctx context.Context, d Device) (bool, error) {
	key := Token(d.User)
	for {
		e, err := p.logins.Get(ctx, key)
		if errors.Is(err, ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		cur, err := decodeDevice(e)
		if err != nil {
			return false, err
		}
		if cur.Device != d.Device || cur.Node != d.Node {
			return false, nil
		}
		err = p.logins.Delete(ctx, key, e.Rev)
		if errors.Is(err, ErrRevision) {
			continue
		}
		return err == nil, err
	}
}

func presenceKey(user, device string) string { return Token(user) + "." + Token(device) }

// Put records (or moves) a device.
func (p *Presence) Put(ctx context.Context, d Device) error {
	val, err := json.Marshal(d)
	if err != nil {
		return err
	}
	_, err = p.kv.Put(ctx, presenceKey(d.User, d.Device), val)
	return err
}

// Delete removes the device if node still holds it (a device that moved to
// another node meanwhile stays): it reports whether it removed it.
func (p *Presence) Delete(ctx context.Context, user, device, node string) (bool, error) {
	key := presenceKey(user, device)
	for {
		e, err := p.kv.Get(ctx, key)
		if errors.Is(err, ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		d, err := decodeDevice(e)
		if err != nil {
			return false, err
		}
		if d.Node != node {
			return false, nil
		}
		err = p.kv.Delete(ctx, key, e.Rev)
		if errors.Is(err, ErrRevision) {
			continue // it changed: look again
		}
		return err == nil, err
	}
}

func decodeDevice(e Entry) (Device, error) {
	var d Device
	if err := json.Unmarshal(e.Value, &d); err != nil {
		return Device{}, fmt.Errorf("cluster: bad presence entry %q: %w", e.Key, err)
	}
	return d, nil
}

func sortDevices(ds []Device) {
	slices.SortFunc(ds, func(a, b Device) int {
		if c := strings.Compare(a.User, b.User); c != 0 {
			return c
		}
		return strings.Compare(a.Device, b.Device)
	})
}

func (p *Presence) list(ctx context.Context, prefix string) ([]Device, error) {
	es, err := p.kv.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	ds := make([]Device, 0, len(es))
	for _, e := range es {
		d, err := decodeDevice(e)
		if err != nil {
			return nil, err
		}
		ds = append(ds, d)
	}
	sortDevices(ds)
	return ds, nil
}

// List returns a user's devices, sorted by device ID.
func (p *Presence) List(ctx context.Context, user string) ([]Device, error) {
	return p.list(ctx, Token(user)+".")
}

// Watch returns a user's devices now, then each change until ctx ends
// (a device that went and came back quickly may arrive as one change: see
// KV.Watch).
func (p *Presence) Watch(ctx context.Context, user string) ([]Device, <-chan PresenceChange, error) {
	initial, ch, err := p.kv.Watch(ctx, Token(user)+".")
	if err != nil {
		return nil, nil, err
	}
	ds := make([]Device, 0, len(initial))
	for _, e := range initial {
		d, err := decodeDevice(e)
		if err != nil {
			return nil, nil, err
		}
		ds = append(ds, d)
	}
	sortDevices(ds)
	out := make(chan PresenceChange)
	go relayPresence(ctx, ch, out)
	return ds, out, nil
}

// relayPresence turns the bucket's changes into PresenceChanges on out
// until the KV watch closes; then it closes out.
func relayPresence(ctx context.Context, ch <-chan Entry, out chan<- PresenceChange) {
	defer close(out)
	for e := range ch {
		pc, ok := presenceChange(e)
		if !ok {
			continue
		}
		select {
		case out <- pc:
		case <-ctx.Done():
			for range ch { // drain until the KV watch closes
			}
			return
		}
	}
}

// presenceChange reads one change of the devices bucket; false for an
// entry that is not a device.
func presenceChange(e Entry) (PresenceChange, bool) {
	var pc PresenceChange
	if !e.Deleted {
		d, err := decodeDevice(e)
		pc.Device = d
		return pc, err == nil
	}
	u, dev, ok := strings.Cut(e.Key, ".")
	if !ok {
		return pc, false
	}
	pc.Gone = true
	pc.Device.User, _ = Untoken(u)
	pc.Device.Device, _ = Untoken(dev)
	return pc, true
}

// ReleaseNode removes every device node held (it died), and its login
// slots, and returns the devices, sorted. It reads both buckets once.
func (p *Presence) ReleaseNode(ctx context.Context, node string) ([]Device, error) {
	if err := p.releaseNodeLogins(ctx, node); err != nil {
		return nil, err
	}
	all, err := p.list(ctx, "")
	if err != nil {
		return nil, err
	}
	var done []Device
	for _, d := range all {
		if d.Node != node {
			continue
		}
		ok, err := p.Delete(ctx, d.User, d.Device, node)
		if err != nil {
			return done, err
		}
		if ok {
			done = append(done, d)
		}
	}
	return done, nil
}

// releaseNodeLogins empties the login slots that devices of node hold.
func (p *Presence) releaseNodeLogins(ctx context.Context, node string) error {
	slots, err := p.logins.List(ctx, "")
	if err != nil {
		return err
	}
	for _, e := range slots {
		if d, err := decodeDevice(e); err != nil || d.Node != node {
			continue
		}
		if err := p.logins.Delete(ctx, e.Key, e.Rev); err != nil && !errors.Is(err, ErrRevision) {
			return err
		}
	}
	return nil
}
