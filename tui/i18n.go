package tui

import (
	"fmt"
	"strings"
)

// Languages the TUI speaks: the reference's setLanguage values.
const (
	LangEnglish  = "en"
	LangChinese  = "zh-cn"
	LangJapanese = "ja_JP"
)

// Catalog is a small message catalog: the UI's strings in one language,
// falling back to English and then to the key itself.
type Catalog struct {
	lang string
	msgs map[string]string
}

// NewCatalog returns the catalog for lang (one of the Lang constants, or
// anything ParseLang understands).
func NewCatalog(lang string) *Catalog {
	l := ParseLang(lang)
	return &Catalog{lang: l, msgs: catalogs[l]}
}

// Lang is the catalog's language.
func (c *Catalog) Lang() string { return c.lang }

// T translates key; with args, the translation is a fmt format.
func (c *Catalog) T(key string, args ...any) string {
	s, ok := c.msgs[key]
	if !ok {
		if s, ok = catalogs[LangEnglish][key]; !ok {
			s = key
		}
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// ParseLang maps a --lang value or a LANG-style locale ("zh_CN.UTF-8",
// "ja_JP", "en_US") to one of the Lang constants; English by default.
func ParseLang(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if i := strings.IndexAny(s, ".@"); i >= 0 {
		s = s[:i]
	}
	s = strings.ReplaceAll(s, "_", "-")
	switch {
	case s == "zh" || strings.HasPrefix(s, "zh-"):
		return LangChinese
	case s == "ja" || strings.HasPrefix(s, "ja-"):
		return LangJapanese
	}
	return LangEnglish
}

// catalogs holds every language's strings. English is complete; the
// others may miss keys (they fall back to English).
var catalogs = map[string]map[string]string{
	LangEnglish: {
		"app":               "termcall",
		"conn.connecting":   "connecting…",
		"conn.online":       "online",
		"conn.reconnecting": "reconnecting…",
		"conn.offline":      "offline",
		"conn.kicked":       "kicked offline",
		"conn.sigexpired":   "userSig expired",
		"hint.kicked":       "Logged in elsewhere: press i to log in again.",
		"hint.sig.renew":    "Your userSig expired: calls go on; press i to renew it before placing calls.",
		"hint.sig.restart":  "Your userSig expired: calls go on; restart with a new --usersig to place calls.",
		"hint.offline":      "Not connected: press i to log in again.",

		"home.contacts":    "Contacts",
		"home.recent":      "Recent",
		"home.nocontacts":  "No contacts yet: type user IDs in the dial box.",
		"home.dial":        "Dial",
		"home.dial.hint":   "user · user user · group:G user…",
		"media.audio":      "audio",
		"media.video":      "video",
		"result.missed":    "missed",
		"result.incoming":  "incoming",
		"result.outgoing":  "outgoing",
		"result.unknown":   "—",
		"filter.all":       "all",
		"history.title":    "History",
		"history.empty":    "No calls yet.",
		"history.when":     "When",
		"history.who":      "Who",
		"history.media":    "Media",
		"history.result":   "Result",
		"history.duration": "Duration",
		"history.loading":  "loading…",

		"out.title":   "Calling",
		"out.group":   "group %s",
		"in.title":    "Incoming %s call",
		"in.from":     "from %s",
		"in.invitees": "Also invited: %s",
		"in.data":     "Data: %s",
		"in.banner":   "%s is calling (%s)",
		"call.title":  "In call",
		"call.you":    "you",

		"peer.ringing":    "ringing",
		"peer.accepted":   "accepted",
		"peer.joined":     "in call",
		"peer.rejected":   "rejected",
		"peer.busy":       "busy",
		"peer.noresponse": "no answer",
		"peer.left":       "left",
		"peer.inviting":   "inviting…",

		"mic.on":       "mic on",
		"mic.off":      "muted",
		"net":          "net %s",
		"net.unknown":  "net ?",
		"speaker":      "speaker",
		"earpiece":     "earpiece",
		"route":        "Audio: %s",
		"invite.label": "Invite",
		"invite.hint":  "user IDs, enter to invite, esc to cancel",

		"st.loggingin":       "logging in as %s…",
		"st.loggedin":        "logged in as %s",
		"st.placing":         "calling %s…",
		"st.placed":          "ringing %s",
		"st.connected":       "connected",
		"st.ended":           "call ended · %s",
		"st.ended.by":        "call ended by %s · %s",
		"st.notconnected":    "call not connected: %s",
		"st.missed":          "missed call from %s",
		"st.answeredelse":    "answered on another device",
		"st.rejectedelse":    "declined on another device",
		"st.cancelled":       "call cancelled",
		"st.muted":           "microphone muted",
		"st.unmuted":         "microphone on",
		"st.route":           "audio to the %s",
		"st.switched":        "switched to %s",
		"st.invited":         "invited %s",
		"st.deleted":         "deleted %d record(s)",
		"st.group.needed":    "several people need a group: type group:G user user…",
		"st.dial.empty":      "type who to call, or pick a contact",
		"st.kicked":          "kicked offline: another login of %s took over",
		"st.sigexpired":      "userSig expired",
		"st.error":           "%s",
		"st.invite.nogroup":  "only group calls can invite more people",
		"st.nocall":          "no call",
		"st.reconnecting":    "connection lost, reconnecting…",
		"st.eventsclosed":    "the engine stopped",
		"st.mediachanged":    "%s switched the call to %s",
		"st.accepted":        "accepted",
		"reason.hangup":      "hung up",
		"reason.reject":      "rejected",
		"reason.noResponse":  "no answer",
		"reason.offline":     "went offline",
		"reason.lineBusy":    "busy",
		"reason.canceled":    "cancelled",
		"reason.endByServer": "ended by the server",

		"key.quit":      "quit",
		"key.help":      "help",
		"key.up":        "up",
		"key.down":      "down",
		"key.call":      "call",
		"key.dial":      "dial box",
		"key.media":     "audio/video",
		"key.history":   "history",
		"key.relogin":   "log in again",
		"key.back":      "back",
		"key.accept":    "accept",
		"key.reject":    "reject",
		"key.ignore":    "ignore",
		"key.expand":    "expand",
		"key.cancel":    "cancel",
		"key.mute":      "mute",
		"key.speaker":   "speaker/earpiece",
		"key.switch":    "audio/video",
		"key.invite":    "invite",
		"key.hangup":    "hang up",
		"key.compact":   "compact",
		"key.filter":    "filter",
		"key.redial":    "redial",
		"key.delete":    "delete",
		"key.refresh":   "refresh",
		"key.leavedial": "leave box",
	},
	LangChinese: {
		"conn.connecting":   "连接中…",
		"conn.online":       "在线",
		"conn.reconnecting": "重连中…",
		"conn.offline":      "离线",
		"conn.kicked":       "已被踢下线",
		"conn.sigexpired":   "userSig 已过期",
		"hint.kicked":       "已在其他设备登录：按 i 重新登录。",
		"hint.sig.renew":    "userSig 已过期：通话继续；按 i 续期后才能发起通话。",
		"hint.sig.restart":  "userSig 已过期：通话继续；请用新的 --usersig 重新启动。",
		"hint.offline":      "未连接：按 i 重新登录。",
		"home.contacts":     "联系人",
		"home.recent":       "最近",
		"home.nocontacts":   "还没有联系人：在拨号框输入用户 ID。",
		"home.dial":         "拨号",
		"media.audio":       "语音",
		"media.video":       "视频",
		"result.missed":     "未接",
		"result.incoming":   "呼入",
		"result.outgoing":   "呼出",
		"filter.all":        "全部",
		"history.title":     "通话记录",
		"history.empty":     "暂无通话。",
		"history.when":      "时间",
		"history.who":       "对方",
		"history.media":     "类型",
		"history.result":    "结果",
		"history.duration":  "时长",
		"out.title":         "正在呼叫",
		"out.group":         "群 %s",
		"in.title":          "%s来电",
		"in.from":           "来自 %s",
		"in.invitees":       "同时邀请：%s",
		"in.data":           "附加数据：%s",
		"in.banner":         "%s 来电（%s）",
		"call.title":        "通话中",
		"call.you":          "我",
		"peer.ringing":      "振铃中",
		"peer.accepted":     "已接听",
		"peer.joined":       "通话中",
		"peer.rejected":     "已拒绝",
		"peer.busy":         "忙线",
		"peer.noresponse":   "无应答",
		"peer.left":         "已离开",
		"mic.on":            "麦克风开",
		"mic.off":           "已静音",
		"net":               "网络 %s",
		"speaker":           "扬声器",
		"earpiece":          "听筒",
		"route":             "音频：%s",
		"invite.label":      "邀请",
		"st.ended":          "通话结束 · %s",
		"st.connected":      "已接通",
		"st.missed":         "%s 的未接来电",
		"st.notconnected":   "通话未接通：%s",
		"st.muted":          "麦克风已静音",
		"st.unmuted":        "麦克风已打开",
		"key.quit":          "退出",
		"key.help":          "帮助",
		"key.call":          "呼叫",
		"key.history":       "记录",
		"key.accept":        "接听",
		"key.reject":        "拒绝",
		"key.ignore":        "忽略",
		"key.expand":        "展开",
		"key.cancel":        "取消",
		"key.mute":          "静音",
		"key.speaker":       "扬声器/听筒",
		"key.switch":        "语音/视频",
		"key.invite":        "邀请",
		"key.hangup":        "挂断",
		"key.compact":       "悬浮窗",
		"key.back":          "返回",
		"key.redial":        "重拨",
		"key.delete":        "删除",
		"key.filter":        "筛选",
	},
	LangJapanese: {
		"conn.connecting":   "接続中…",
		"conn.online":       "オンライン",
		"conn.reconnecting": "再接続中…",
		"conn.offline":      "オフライン",
		"conn.kicked":       "強制ログアウト",
		"conn.sigexpired":   "userSig 期限切れ",
		"hint.kicked":       "別の端末でログインされました：i で再ログイン。",
		"hint.offline":      "未接続：i で再ログイン。",
		"home.contacts":     "連絡先",
		"home.recent":       "最近",
		"home.dial":         "発信",
		"media.audio":       "音声",
		"media.video":       "ビデオ",
		"result.missed":     "不在",
		"result.incoming":   "着信",
		"result.outgoing":   "発信",
		"filter.all":        "すべて",
		"history.title":     "通話履歴",
		"history.empty":     "通話はまだありません。",
		"out.title":         "発信中",
		"in.title":          "%s着信",
		"in.from":           "%s から",
		"in.banner":         "%s から着信（%s）",
		"call.title":        "通話中",
		"call.you":          "自分",
		"peer.ringing":      "呼出中",
		"peer.joined":       "通話中",
		"peer.rejected":     "拒否",
		"peer.busy":         "話し中",
		"peer.noresponse":   "応答なし",
		"peer.left":         "退出",
		"mic.on":            "マイク オン",
		"mic.off":           "ミュート",
		"speaker":           "スピーカー",
		"earpiece":          "受話口",
		"st.ended":          "通話終了 · %s",
		"key.quit":          "終了",
		"key.help":          "ヘルプ",
		"key.call":          "発信",
		"key.history":       "履歴",
		"key.accept":        "応答",
		"key.reject":        "拒否",
		"key.ignore":        "無視",
		"key.cancel":        "取消",
		"key.mute":          "ミュート",
		"key.hangup":        "切断",
		"key.back":          "戻る",
	},
}
