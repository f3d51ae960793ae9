package tui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/termcall/termcall/engine"
)

// phase is where a call is, as the UI shows it.
type phase int

const (
	phaseOutgoing phase = iota // this user is calling; nobody answered yet
	phaseIncoming              // ringing for this user
	phaseActive                // connected
)

// peerState is one other user's state in the call.
type peerState int

const (
	peerRinging peerState = iota
	peerJoined
	peerRejected
	peerBusy
	peerNoResponse
	peerLeft
)

func (p peerState) key() string {
	return [...]string{"peer.ringing", "peer.joined", "peer.rejected", "peer.busy", "peer.noresponse", "peer.left"}[p]
}

// peer is another user of the call.
type peer struct {
	id      string
	state   peerState
	micOff  bool
	volume  int
	quality engine.NetworkQuality
}

// CallKeys are the keys of a call: incoming, outgoing and connected.
type CallKeys struct {
	Accept      key.Binding
	Reject      key.Binding
	Ignore      key.Binding
	Expand      key.Binding
	Cancel      key.Binding
	Mute        key.Binding
	Speaker     key.Binding
	SwitchMedia key.Binding
	Invite      key.Binding
	Hangup      key.Binding
	Compact     key.Binding
	// --- kit: switch camera ---
	SwitchCamera key.Binding
	// The invite box.
	Enter key.Binding
	Back  key.Binding
	Help  key.Binding
}

func callKeys(t keyText, s sharedKeys) CallKeys {
	return CallKeys{
		Accept:       t.as("a", "key.accept", "a", "enter"),
		Reject:       t.b("key.reject", "r"),
		Ignore:       t.b("key.ignore", "i"),
		Expand:       t.b("key.expand", "e"),
		Cancel:       t.as("x", "key.cancel", "x", "esc"),
		Mute:         t.b("key.mute", "m"),
		Speaker:      t.b("key.speaker", "s"),
		SwitchMedia:  t.b("key.switch", "v"),
		Invite:       t.b("key.invite", "+"),
		Hangup:       t.b("key.hangup", "x"),
		Compact:      t.b("key.compact", "f"),
		SwitchCamera: t.b("key.switchcam", "c"), // --- kit: switch camera ---
		Enter:        s.enter,
		Back:         s.back,
		Help:         s.Help,
	}
}

// callModel is the current call: the outgoing, incoming and in-call
// screens, the incoming banner and the compact (float window) line.
type callModel struct {
	st   *Styles
	keys *CallKeys
	cat  *Catalog
	act  actions
	me   string

	// dialed is the dial box as it was when this call was placed from it
	// (text, and whether it had the focus), given back if placing fails.
	dialed       []rune
	dialedTyping bool

	id       string
	phase    phase
	media    engine.MediaType
	group    string
	caller   string
	target   string // what was dialled (outgoing)
	nickname string
	userData string
	peers    []*peer
	began    time.Time

	muted       bool
	noMic       bool // nothing is sent: no audio device
	joining     bool // joining a running call (join, joinInGroupCall)
	route       engine.AudioPlaybackDevice
	selfVolume  int
	selfQuality engine.NetworkQuality

	banner      bool // an incoming call shown as a one-line banner
	compact     bool // a connected call shown as one line
	floatWindow bool // compact mode is allowed
	declined    bool // this user rejected, ignored or cancelled it
	inviting    bool
	invite      []rune

	video VideoView // nil: no video drawn

	width, height int
}

// showsVideo reports a connected video call with a way to draw it.
func (c *callModel) showsVideo() bool {
	return c.video != nil && c.phase == phaseActive && c.media == engine.MediaTypeVideo
}

// videoBlock draws the first other participant that has a picture, in the
// room the screen leaves above the tiles; "" when there is none or no room.
func (c *callModel) videoBlock() string {
	if !c.showsVideo() {
		return ""
	}
	cols, rows := c.width-2, c.height-13
	if cols < 16 || rows < 4 {
		return ""
	}
	for _, p := range c.peers {
		if p.state != peerJoined {
			continue
		}
		if text, ok := c.video.Frame(p.id, cols, rows); ok {
			return c.st.Dim.Render(p.id) + "\n" + text
		}
	}
	return ""
}

func (c *callModel) SetSize(w, h int) { c.width, c.height = w, h }

// peer finds or adds a user.
func (c *callModel) peer(id string) *peer {
	for _, p := range c.peers {
		if p.id == id {
			return p
		}
	}
	p := &peer{id: id}
	c.peers = append(c.peers, p)
	return p
}

func (c *callModel) isGroup() bool { return c.group != "" }

// placed takes the reply to placing or joining the call: its group (a
// join learns it here) and its participants (in a join, those already in
// the call are in it).
func (c *callModel) placed(info engine.CallInfo) {
	if c.joining && c.group == "" {
		c.group = info.GroupID
	}
	for _, p := range info.Participants {
		if p.UserID == c.me {
			continue
		}
		pr := c.peer(p.UserID)
		if c.joining && p.Status == engine.StatusAccept {
			pr.state = peerJoined
		}
	}
}

// Typing says whether keys go to the invite box.
func (c *callModel) Typing() bool { return c.inviting }

// Overlay says whether the call leaves the screen below it visible: an
// incoming banner or the compact line.
func (c *callModel) Overlay() bool {
	return (c.phase == phaseIncoming && c.banner) || (c.phase == phaseActive && c.compact)
}

// ended describes how a call ended, for the status line.
type ended struct {
	status string
	err    bool
}

// handle applies an event of this call. It returns non-nil when the call
// is over for this user.
func (c *callModel) handle(ev engine.Event, now time.Time) *ended {
	switch ev := ev.(type) {
	case engine.CallBegin:
		c.phase = phaseActive
		c.banner = false
		c.began = now
		c.media = ev.MediaType
		if c.caller != "" && c.caller != c.me {
			c.peer(c.caller).state = peerJoined
		}
	case engine.CallEnd:
		return c.endedBy(ev)
	case engine.CallCancelled:
		return c.cancelled(ev)
	case engine.CallMediaTypeChanged:
		c.media = ev.NewType
	default:
		c.peerEvent(ev)
	}
	return nil
}

// endedBy says how a connected call ended: who hung up, and how long it
// lasted.
func (c *callModel) endedBy(ev engine.CallEnd) *ended {
	t := c.cat.T
	d := clock(time.Duration(ev.TotalTime) * time.Second)
	if ev.UserID != "" && ev.UserID != c.me && ev.Reason == engine.ReasonHangup {
		return &ended{status: t("st.ended.by", ev.UserID, d)}
	}
	s := t("st.ended", d)
	if ev.Reason != engine.ReasonHangup && ev.Reason != engine.ReasonUnknown {
		s += " (" + reasonName(c.cat, ev.Reason) + ")"
	}
	return &ended{status: s}
}

// cancelled says why a call that never connected ended: answered or
// rejected on another device, cancelled here, missed, or what each
// invitee did.
func (c *callModel) cancelled(ev engine.CallCancelled) *ended {
	t := c.cat.T
	switch {
	case ev.Reason == engine.ReasonOtherDeviceAccepted:
		return &ended{status: t("st.answeredelse")}
	case ev.Reason == engine.ReasonOtherDeviceReject:
		return &ended{status: t("st.rejectedelse")}
	case c.declined:
		return &ended{status: t("st.cancelled")}
	case c.phase == phaseIncoming:
		return &ended{status: t("st.missed", c.callerName())}
	}
	var why []string
	for _, p := range c.peers {
		if p.state != peerRinging && p.state != peerJoined {
			why = append(why, p.id+" "+t(p.state.key()))
		}
	}
	if len(why) == 0 {
		why = append(why, reasonName(c.cat, ev.Reason))
	}
	return &ended{status: t("st.notconnected", strings.Join(why, ", ")), err: true}
}

// peerEvent applies an event about the other users: their answers, who
// joined or left, who was invited, their microphones, volumes and
// network.
func (c *callModel) peerEvent(ev engine.Event) {
	switch ev := ev.(type) {
	case engine.UserReject:
		c.peer(ev.UserID).state = peerRejected
	case engine.UserLineBusy:
		c.peer(ev.UserID).state = peerBusy
	case engine.UserNoResponse:
		c.peer(ev.UserID).state = peerNoResponse
	case engine.UserJoin:
		c.setOther(ev.UserID, func(p *peer) { p.state = peerJoined })
	case engine.UserLeave:
		c.setOther(ev.UserID, func(p *peer) { p.state = peerLeft })
	case engine.GroupCallInviteeListUpdate:
		for _, id := range ev.UserIDList {
			c.setOther(id, func(*peer) {})
		}
	case engine.UserAudioAvailable:
		c.setOther(ev.UserID, func(p *peer) { p.micOff = !ev.IsAudioAvailable })
	case engine.UserVoiceVolumeChanged:
		c.volumes(ev.VolumeMap)
	case engine.UserNetworkQualityChanged:
		c.qualities(ev.NetworkQualityList)
	}
}

// setOther finds or adds another user (never this one) and changes them.
func (c *callModel) setOther(id string, change func(*peer)) {
	if id != c.me {
		change(c.peer(id))
	}
}

// volumes are everyone's voice levels (this user's too), for the users
// in the call.
func (c *callModel) volumes(levels map[string]int) {
	for id, v := range levels {
		if id == c.me {
			c.selfVolume = v
		} else if p := c.find(id); p != nil {
			p.volume = v
		}
	}
}

// qualities are everyone's network quality ("" or this user: their own).
func (c *callModel) qualities(list []engine.NetworkQualityInfo) {
	for _, q := range list {
		if q.UserID == c.me || q.UserID == "" {
			c.selfQuality = q.Quality
		} else if p := c.find(q.UserID); p != nil {
			p.quality = q.Quality
		}
	}
}

func (c *callModel) find(id string) *peer {
	for _, p := range c.peers {
		if p.id == id {
			return p
		}
	}
	return nil
}

func (c *callModel) callerName() string {
	if c.nickname != "" && c.nickname != c.caller {
		return c.nickname + " (" + c.caller + ")"
	}
	return c.caller
}

// Update handles a key press on the call's screen: the invite box's, or
// the keys of the call's phase.
func (c *callModel) Update(msg tea.Msg) tea.Cmd {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil
	}
	switch {
	case c.inviting:
		return c.inviteKey(k)
	case c.phase == phaseIncoming:
		return c.incomingKey(k)
	case c.phase == phaseOutgoing:
		if key.Matches(k, c.keys.Cancel) {
			c.declined = true
			return c.act.do("", c.act.eng.Hangup)
		}
		return nil
	}
	return c.activeKey(k)
}

// inviteKey is a key in the invite box: enter invites the users typed,
// esc closes it.
func (c *callModel) inviteKey(k tea.KeyPressMsg) tea.Cmd {
	switch k.String() {
	case "enter":
		ids := strings.Fields(strings.ReplaceAll(string(c.invite), ",", " "))
		c.inviting, c.invite = false, nil
		if len(ids) == 0 {
			return nil
		}
		for _, id := range ids {
			c.peer(id).state = peerRinging
		}
		return c.act.invite(ids)
	case "esc":
		c.inviting, c.invite = false, nil
	default:
		c.invite = editLine(c.invite, k, false)
	}
	return nil
}

func (c *callModel) incomingKey(k tea.KeyPressMsg) tea.Cmd {
	keys := c.keys
	switch {
	case key.Matches(k, keys.Accept):
		return c.act.do(c.cat.T("st.accepted"), c.act.eng.Accept)
	case key.Matches(k, keys.Reject):
		c.declined = true
		return c.act.do("", c.act.eng.Reject)
	case key.Matches(k, keys.Ignore):
		c.declined = true
		return c.act.do("", c.act.eng.Ignore)
	case key.Matches(k, keys.Expand) && c.banner:
		c.banner = false
	}
	return nil
}

// activeKey is a key of a connected call; the compact line has only hang
// up, mute and expand.
func (c *callModel) activeKey(k tea.KeyPressMsg) tea.Cmd {
	keys := c.keys
	switch {
	case key.Matches(k, keys.Hangup):
		return c.act.do("", c.act.eng.Hangup)
	case key.Matches(k, keys.Mute):
		return c.act.mic(!c.muted)
	case key.Matches(k, keys.Compact) && c.floatWindow:
		c.compact = !c.compact
	case c.compact:
	case key.Matches(k, keys.Speaker):
		return c.act.route(c.otherRoute())
	case key.Matches(k, keys.SwitchMedia):
		return c.switchMedia()
	case key.Matches(k, keys.Invite):
		return c.openInvite()
	case key.Matches(k, keys.SwitchCamera) && c.media == engine.MediaTypeVideo:
		return c.act.switchCamera(c.cat) // --- kit: switch camera ---
	}
	return nil
}

// otherRoute is the playback route s switches to.
func (c *callModel) otherRoute() engine.AudioPlaybackDevice {
	if c.route == engine.AudioPlaybackEarpiece {
		return engine.AudioPlaybackSpeakerphone
	}
	return engine.AudioPlaybackEarpiece
}

// switchMedia switches the call between audio and video.
func (c *callModel) switchMedia() tea.Cmd {
	m := engine.MediaTypeVideo
	if c.media == engine.MediaTypeVideo {
		m = engine.MediaTypeAudio
	}
	return c.act.do(c.cat.T("st.switched", mediaName(c.cat, m)), func(ctx context.Context) error {
		return c.act.eng.SwitchCallMediaType(ctx, m)
	})
}

// openInvite opens the invite box of a group call.
func (c *callModel) openInvite() tea.Cmd {
	if !c.isGroup() {
		return func() tea.Msg { return statusMsg{c.cat.T("st.invite.nogroup")} }
	}
	c.inviting = true
	return nil
}

// Handles says whether an overlaid call (banner, compact line) takes a key
// before the screen below it.
func (c *callModel) Handles(k tea.KeyPressMsg) bool {
	if !c.Overlay() {
		return true
	}
	keys := c.keys
	if c.phase == phaseIncoming {
		return key.Matches(k, keys.Accept, keys.Reject, keys.Ignore, keys.Expand)
	}
	return key.Matches(k, keys.Hangup, keys.Mute, keys.Compact)
}

func (c *callModel) Help() bindings {
	k := c.keys
	switch {
	case c.inviting:
		return bindings{short: []key.Binding{k.Enter, k.Back}, full: [][]key.Binding{{k.Enter, k.Back}}}
	case c.phase == phaseIncoming && c.banner:
		s := []key.Binding{k.Accept, k.Reject, k.Ignore, k.Expand}
		return bindings{short: s, full: [][]key.Binding{s}}
	case c.phase == phaseIncoming:
		s := []key.Binding{k.Accept, k.Reject, k.Ignore}
		return bindings{short: s, full: [][]key.Binding{s}}
	case c.phase == phaseOutgoing:
		return bindings{short: []key.Binding{k.Cancel, k.Help}, full: [][]key.Binding{{k.Cancel, k.Help}}}
	case c.compact:
		// f expands again here: the help says so, as the compact bar does.
		expand := key.NewBinding(key.WithKeys(k.Compact.Keys()...), key.WithHelp(k.Compact.Help().Key, c.cat.T("key.expand")))
		s := []key.Binding{k.Mute, k.Hangup, expand}
		return bindings{short: s, full: [][]key.Binding{s}}
	}
	var s []key.Binding
	s = append(s, k.Mute, k.Speaker, k.SwitchMedia)
	if c.isGroup() {
		s = append(s, k.Invite)
	}
	if c.floatWindow {
		s = append(s, k.Compact)
	}
	if c.media == engine.MediaTypeVideo {
		s = append(s, k.SwitchCamera) // --- kit: switch camera ---
	}
	s = append(s, k.Hangup)
	return bindings{short: s, full: [][]key.Binding{s, {k.Help}}}
}

// View draws the call's full screen.
func (c *callModel) View(now time.Time) string {
	switch c.phase {
	case phaseIncoming:
		return c.incomingView()
	case phaseOutgoing:
		return c.outgoingView()
	}
	return c.activeView(now)
}

func (c *callModel) subtitle() string {
	s := mediaName(c.cat, c.media)
	if c.isGroup() {
		s += " · " + c.cat.T("out.group", c.group)
	}
	return s
}

func (c *callModel) outgoingView() string {
	st, t := c.st, c.cat.T
	title := t("out.title")
	if c.joining {
		title = t("out.joining", c.target)
	}
	lines := []string{st.Title.Render(title) + " · " + c.subtitle(), ""}
	for _, p := range c.peers {
		lines = append(lines, "  "+pad(p.id, 24)+" "+c.stateText(p.state))
	}
	return strings.Join(lines, "\n")
}

func (c *callModel) stateText(s peerState) string {
	st, t := c.st, c.cat.T
	switch s {
	case peerRinging:
		return st.Warn.Render("◌ " + t(s.key()))
	case peerJoined:
		return st.Good.Render("● " + t(s.key()))
	case peerLeft:
		return st.Dim.Render("○ " + t(s.key()))
	}
	return st.Bad.Render("✗ " + t(s.key()))
}

func (c *callModel) incomingView() string {
	st, t := c.st, c.cat.T
	lines := []string{
		st.Title.Render(t("in.title", mediaName(c.cat, c.media))),
		"",
		st.Header.Render(t("in.from", c.callerName())),
	}
	if c.isGroup() {
		lines = append(lines, t("out.group", c.group))
	}
	var others []string
	for _, p := range c.peers {
		if p.id != c.caller {
			others = append(others, p.id)
		}
	}
	if len(others) > 0 {
		lines = append(lines, t("in.invitees", strings.Join(others, ", ")))
	}
	if c.userData != "" {
		lines = append(lines, st.Dim.Render(t("in.data", truncate(c.userData, max(10, c.width-20)))))
	}
	k := c.keys
	lines = append(lines, "", fmt.Sprintf("[%s] %s   [%s] %s   [%s] %s",
		k.Accept.Help().Key, k.Accept.Help().Desc, k.Reject.Help().Key, k.Reject.Help().Desc,
		k.Ignore.Help().Key, k.Ignore.Help().Desc))
	box := lipgloss.NewStyle().Border(lipgloss.DoubleBorder()).Padding(1, 3).Render(strings.Join(lines, "\n"))
	return lipgloss.Place(c.width, c.height, lipgloss.Center, lipgloss.Center, box)
}

// BannerView is the one-line incoming banner.
func (c *callModel) BannerView() string {
	k := c.keys
	s := "☎ " + c.cat.T("in.banner", c.callerName(), c.subtitle()) + fmt.Sprintf("  [%s] %s [%s] %s [%s] %s",
		k.Accept.Help().Key, k.Accept.Help().Desc, k.Expand.Help().Key, k.Expand.Help().Desc,
		k.Reject.Help().Key, k.Reject.Help().Desc)
	return c.st.Banner.Render(pad(s, max(1, c.width-2)))
}

// CompactView is the one-line float window of a connected call.
func (c *callModel) CompactView(now time.Time) string {
	t := c.cat.T
	who := c.group
	if who == "" && len(c.peers) > 0 {
		who = c.peers[0].id
	}
	mic := t("mic.on")
	switch {
	case c.muted:
		mic = t("mic.off")
	case c.noMic:
		mic = t("mic.nodevice")
	}
	vol := 0
	for _, p := range c.peers {
		vol = max(vol, p.volume)
	}
	k := c.keys
	s := fmt.Sprintf("● %s · %s · %s · %s%s  [%s] %s [%s] %s", who, clock(now.Sub(c.began)), mic,
		strings.Repeat("▮", (vol+19)/20), strings.Repeat("▯", 5-(vol+19)/20),
		k.Compact.Help().Key, t("key.expand"), k.Hangup.Help().Key, k.Hangup.Help().Desc)
	return c.st.Compact.Render(pad(s, max(1, c.width-2)))
}

// activeView is a connected call: title and timer, the video, a tile
// per participant, the playback route and the invite box.
func (c *callModel) activeView(now time.Time) string {
	st, t := c.st, c.cat.T
	title := st.Title.Render(t("call.title")) + " · " + c.subtitle()
	timer := st.Timer.Render(clock(now.Sub(c.began)))
	gap := max(1, c.width-lipgloss.Width(title)-lipgloss.Width(timer))
	lines := []string{title + strings.Repeat(" ", gap) + timer, ""}
	if v := c.videoBlock(); v != "" {
		lines = append(lines, v, "")
	}
	lines = append(lines, c.gridView(), "")
	route := t("speaker")
	if c.route == engine.AudioPlaybackEarpiece {
		route = t("earpiece")
	}
	lines = append(lines, t("route", route))
	if c.inviting {
		lines = append(lines, t("invite.label")+": "+string(c.invite)+"█  "+st.Dim.Render(t("invite.hint")))
	}
	return strings.Join(lines, "\n")
}

// gridView lays the tiles out in rows as wide as the screen; on a small
// screen the rows that do not fit are left out.
func (c *callModel) gridView() string {
	tiles := c.tiles()
	const tileW = 26
	cols := max(1, c.width/tileW)
	var rows []string
	for i := 0; i < len(tiles); i += cols {
		rows = append(rows, lipgloss.JoinHorizontal(lipgloss.Top, tiles[i:min(len(tiles), i+cols)]...))
	}
	grid := lipgloss.JoinVertical(lipgloss.Left, rows...)
	if room := c.height - 4; room > 0 && lipgloss.Height(grid) > room {
		gl := strings.Split(grid, "\n")
		grid = strings.Join(gl[:room], "\n")
	}
	return grid
}

// tiles are this user's tile, then one per other user (with their state
// while they are not in the call).
func (c *callModel) tiles() []string {
	st, t := c.st, c.cat.T
	self := ""
	if c.noMic && !c.muted {
		self = st.Warn.Render(t("mic.nodevice"))
	}
	tiles := []string{c.tile(c.me+" ("+t("call.you")+")", !c.muted, c.selfVolume, c.selfQuality, self)}
	for _, p := range c.peers {
		extra := ""
		if p.state != peerJoined {
			extra = c.stateText(p.state)
		}
		tiles = append(tiles, c.tile(p.id, !p.micOff, p.volume, p.quality, extra))
	}
	return tiles
}

func (c *callModel) tile(name string, mic bool, vol int, q engine.NetworkQuality, extra string) string {
	st, t := c.st, c.cat.T
	micS := st.Good.Render(t("mic.on"))
	if !mic {
		micS = st.Bad.Render(t("mic.off"))
	}
	net := t("net.unknown")
	if q != engine.NetworkQualityUnknown {
		ns := t("net", q.String())
		switch {
		case q <= engine.NetworkQualityGood:
			net = st.Good.Render(ns)
		case q <= engine.NetworkQualityBad:
			net = st.Warn.Render(ns)
		default:
			net = st.Bad.Render(ns)
		}
	}
	body := []string{st.TileName.Render(truncate(name, 20)), micS, bar(*st, vol, 10), net}
	if extra != "" {
		body[1] = extra
	}
	return st.Tile.Width(24).Render(strings.Join(body, "\n"))
}
