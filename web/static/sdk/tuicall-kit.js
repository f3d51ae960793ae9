// termcall Web TUICallKit: a ready call UI as a Web Component
// (<tuicall-kit>, no framework), on the Web engine of ./tuicall-engine.js.
// The Kit API for the Web is TUICallKitServer (docs/web.md).
//
//   <script type="module" src="/sdk/tuicall-kit.js"></script>
//   <tuicall-kit></tuicall-kit>
//   <script type="module">
//     import { TUICallKitServer, TUICallType } from '/sdk/tuicall-kit.js';
//     await TUICallKitServer.init({ SDKAppID, userID: 'alice', userSig });
//     await TUICallKitServer.calls({ userIDList: ['bob'], type: TUICallType.VIDEO_CALL });
//   </script>

import { TUICallEngine, TUICallEvent, TUICallType, TUICallError, AudioPlaybackDevice, VideoProfiles } from './tuicall-engine.js';

export { TUICallEngine, TUICallEvent, TUICallType, TUICallError };

/** The Kit's UI status (the reference's STATUS). */
export const STATUS = Object.freeze({
  IDLE: 'idle',
  BE_INVITED: 'be-invited',
  DIALING_C2C: 'dialing-c2c',
  DIALING_GROUP: 'dialing-group',
  CALLING_C2C_AUDIO: 'calling-c2c-audio',
  CALLING_C2C_VIDEO: 'calling-c2c-video',
  CALLING_GROUP_AUDIO: 'calling-group-audio',
  CALLING_GROUP_VIDEO: 'calling-group-video',
});
export const VideoDisplayMode = Object.freeze({ CONTAIN: 'contain', COVER: 'cover', FILL: 'fill' });
export const VideoResolution = Object.freeze({ RESOLUTION_480P: '480p', RESOLUTION_720P: '720p', RESOLUTION_1080P: '1080p' });
export const FeatureButton = Object.freeze({ Camera: 'camera', Microphone: 'microphone', SwitchCamera: 'switchCamera', InviteUser: 'inviteUser' });
export const LayoutMode = Object.freeze({ LocalInLargeView: 'local', RemoteInLargeView: 'remote' });
export const LanguageType = Object.freeze({ EN: 'en', ZH_CN: 'zh-cn', JA_JP: 'ja_JP' });

/** The Kit's texts, by language: en, zh-cn, ja_JP. */
export const catalog = {
  en: {
    'in.title': 'Incoming call', 'in.audio': 'invites you to an audio call', 'in.video': 'invites you to a video call',
    'in.group': 'Group {0}', accept: 'Accept', reject: 'Decline', hangup: 'Hang up', cancel: 'Cancel',
    mute: 'Mute', unmute: 'Unmute', 'cam.on': 'Camera on', 'cam.off': 'Camera off', speaker: 'Speaker', earpiece: 'Earpiece',
    'switch.cam': 'Switch camera', blur: 'Blur background', 'blur.off': 'No blur', invite: 'Invite', 'invite.go': 'Invite',
    'invite.placeholder': 'user IDs', devices: 'Devices', minimize: 'Minimize', fullscreen: 'Full screen', restore: 'Open',
    'dev.mic': 'Microphone', 'dev.cam': 'Camera', 'dev.speaker': 'Speaker', me: 'Me',
    'st.ringing': 'ringing…', 'st.in': 'in the call', 'st.declined': 'declined', 'st.noresp': 'no answer', 'st.busy': 'busy',
    'st.left': 'left', 'st.waiting': 'Waiting for {0} to answer…', 'st.connected': 'Connected', 'st.calling': 'Calling…',
    'msg.declined': '{0} declined the call.', 'msg.noresp': '{0} did not answer.', 'msg.busy': '{0} is busy.',
    'msg.canceled': 'The call was cancelled.', 'msg.ended': 'Call ended ({0}).',
    'msg.kicked': 'Logged in elsewhere: log in again.',
    'msg.sigexpired': 'Your userSig expired: calls go on; log in again with a new userSig before placing calls.',
    'msg.micdenied': 'Microphone not allowed: the call goes on listen-only (you hear the others; they do not hear you).',
    'msg.camdenied': 'Camera not allowed: the call goes on with audio only.',
    'msg.nomic': 'No microphone could be opened: the call goes on listen-only.',
    'msg.nocam': 'No camera could be opened: the call goes on with audio only.',
    'msg.lost': 'Connection to the server lost.',
    'msg.media': 'The media connection failed.',
    'msg.nocamera2': 'There is no other camera.',
    'msg.fxunavailable': 'Background blur is not available here: {0}',
    'msg.aivoice': 'AI noise reduction is not available here: {0}',
    'msg.notloggedin': 'Not logged in: log in before placing calls.',
    'msg.failed': '{0} failed: {1}',
  },
  'zh-cn': {
    'in.title': '来电', 'in.audio': '邀请你进行语音通话', 'in.video': '邀请你进行视频通话', 'in.group': '群组 {0}',
    accept: '接听', reject: '拒绝', hangup: '挂断', cancel: '取消', mute: '静音', unmute: '取消静音',
    'cam.on': '打开摄像头', 'cam.off': '关闭摄像头', speaker: '扬声器', earpiece: '听筒', 'switch.cam': '切换摄像头',
    blur: '背景虚化', 'blur.off': '关闭虚化', invite: '邀请', 'invite.go': '邀请', 'invite.placeholder': '用户 ID',
    devices: '设备', minimize: '最小化', fullscreen: '全屏', restore: '打开', 'dev.mic': '麦克风', 'dev.cam': '摄像头',
    'dev.speaker': '扬声器', me: '我', 'st.ringing': '呼叫中…', 'st.in': '通话中', 'st.declined': '已拒绝', 'st.noresp': '无应答',
    'st.busy': '忙线', 'st.left': '已离开', 'st.waiting': '等待 {0} 接听…', 'st.connected': '已接通', 'st.calling': '正在呼叫…',
    'msg.declined': '{0} 拒绝了通话。', 'msg.noresp': '{0} 无应答。', 'msg.busy': '{0} 忙线中。', 'msg.canceled': '通话已取消。',
    'msg.ended': '通话结束（{0}）。',
    'msg.kicked': '已在其他设备登录：请重新登录。',
    'msg.sigexpired': 'userSig 已过期：通话继续；请用新的 userSig 重新登录后才能发起通话。',
    'msg.micdenied': '麦克风未获授权：通话继续，仅收听（你能听到对方，对方听不到你）。',
    'msg.camdenied': '摄像头未获授权：通话继续，仅语音。',
    'msg.nomic': '无法打开麦克风：通话继续，仅收听。',
    'msg.nocam': '无法打开摄像头：通话继续，仅语音。',
    'msg.lost': '与服务器的连接已断开。',
    'msg.media': '媒体连接失败。',
    'msg.nocamera2': '没有其他摄像头。',
    'msg.fxunavailable': '此处无法使用背景虚化：{0}',
    'msg.aivoice': '此处无法使用 AI 降噪：{0}',
    'msg.notloggedin': '未登录：请先登录再发起通话。',
    'msg.failed': '{0} 失败：{1}',
  },
  ja_JP: {
    'in.title': '着信', 'in.audio': 'から音声通話の着信', 'in.video': 'からビデオ通話の着信', 'in.group': 'グループ {0}',
    accept: '応答', reject: '拒否', hangup: '切断', cancel: 'キャンセル', mute: 'ミュート', unmute: 'ミュート解除',
    'cam.on': 'カメラ オン', 'cam.off': 'カメラ オフ', speaker: 'スピーカー', earpiece: '受話口', 'switch.cam': 'カメラ切替',
    blur: '背景ぼかし', 'blur.off': 'ぼかしなし', invite: '招待', 'invite.go': '招待', 'invite.placeholder': 'ユーザー ID',
    devices: 'デバイス', minimize: '最小化', fullscreen: '全画面', restore: '開く', 'dev.mic': 'マイク', 'dev.cam': 'カメラ',
    'dev.speaker': 'スピーカー', me: '自分', 'st.ringing': '呼び出し中…', 'st.in': '通話中', 'st.declined': '拒否', 'st.noresp': '応答なし',
    'st.busy': '話し中', 'st.left': '退出', 'st.waiting': '{0} の応答を待っています…', 'st.connected': '通話中', 'st.calling': '発信中…',
    'msg.declined': '{0} が通話を拒否しました。', 'msg.noresp': '{0} が応答しませんでした。', 'msg.busy': '{0} は話し中です。',
    'msg.canceled': '通話はキャンセルされました。', 'msg.ended': '通話が終了しました（{0}）。',
    'msg.kicked': '別の端末でログインされました：再ログインしてください。',
    'msg.sigexpired': 'userSig の期限が切れました：通話は続きます。発信するには新しい userSig で再ログインしてください。',
    'msg.micdenied': 'マイクが許可されていません：通話は受話のみで続きます（相手の声は聞こえますが、相手には聞こえません）。',
    'msg.camdenied': 'カメラが許可されていません：通話は音声のみで続きます。',
    'msg.nomic': 'マイクを開けません：通話は受話のみで続きます。',
    'msg.nocam': 'カメラを開けません：通話は音声のみで続きます。',
    'msg.lost': 'サーバーとの接続が切れました。',
    'msg.media': 'メディア接続に失敗しました。',
    'msg.nocamera2': '他のカメラがありません。',
    'msg.fxunavailable': 'ここでは背景ぼかしを使えません：{0}',
    'msg.aivoice': 'ここでは AI ノイズ除去を使えません：{0}',
    'msg.notloggedin': 'ログインしていません：発信する前にログインしてください。',
    'msg.failed': '{0} に失敗しました：{1}',
  },
};

const langOf = (l) => {
  const k = String(l || '').toLowerCase().replace('_', '-');
  if (k === 'en' || k.startsWith('en-')) return 'en';
  if (k.startsWith('zh')) return 'zh-cn';
  if (k.startsWith('ja')) return 'ja_JP';
  return '';
};

const fmtTime = (s) => `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;

// Ringtone: the bell set with setCallingBell (an <audio loop>), or a
// WebAudio ring (440 + 480 Hz, 2 s on, 4 s off).
class Ringer {
  constructor() {
    this.playing = false;
    this.url = '';
    this._ctx = null;
    this._audio = null;
  }

  start() {
    if (this.playing) return;
    this.playing = true;
    if (this.url) {
      const a = new Audio(this.url);
      a.loop = true;
      a.play().catch(() => {});
      this._audio = a;
      return;
    }
    try {
      const ctx = new AudioContext();
      const gain = ctx.createGain();
      gain.gain.value = 0;
      gain.connect(ctx.destination);
      for (const f of [440, 480]) {
        const o = ctx.createOscillator();
        o.frequency.value = f;
        o.connect(gain);
        o.start();
      }
      const now = ctx.currentTime;
      for (let s = 0; s < 600; s += 6) {
        gain.gain.setValueAtTime(0.15, now + s);
        gain.gain.setValueAtTime(0, now + s + 2);
      }
      ctx.resume?.().catch(() => {});
      this._ctx = ctx;
    } catch {
      /* no WebAudio: ring silently */
    }
  }

  stop() {
    this.playing = false;
    if (this._audio) {
      this._audio.pause();
      this._audio.src = '';
      this._audio = null;
    }
    if (this._ctx) {
      this._ctx.close().catch(() => {});
      this._ctx = null;
    }
  }

  /** element is the <audio> playing the bell, for tests and pages. */
  get element() {
    return this._audio;
  }
}

/**
 * TUICallKitServer is the Kit API (docs/web.md): one per page,
 * shared by the <tuicall-kit> elements on it (the last connected one shows
 * the UI). Methods return promises; failures reject with TUICallError.
 */
class KitServer {
  constructor() {
    this._engine = null;
    this._elements = new Set();
    this._reset();
    this._lang = langOf(typeof navigator !== 'undefined' ? navigator.language : '') || 'en';
  }

  _reset() {
    this._muteMode = false;
    this._floatWindow = false;
    this._banner = false;
    this._virtualBg = false;
    this._aiVoice = false;
    this._hidden = new Set();
    this._localBg = '';
    this._remoteBg = new Map();
    this._layout = LayoutMode.RemoteInLargeView;
    this._camDefault = true;
    this._ringer?.stop();
    this._ringer = new Ringer();
    this._status = STATUS.IDLE;
    this._call = null; // {callId, groupID, mediaType, role, sponsor, users: Map}
    this._minimized = false;
    this._bannerOpen = false;
    this._startedAt = 0;
    this._notice = { key: '', text: '' };
    this._mic = true;
    this._cam = false;
    this._blur = false;
    this._playback = AudioPlaybackDevice.SPEAKER;
    this._handlers = [];
  }

  // ---- engine ----

  /** getTUICallEngineInstance() returns the engine behind the Kit. */
  getTUICallEngineInstance() {
    if (!this._engine) this._bind(TUICallEngine.createInstance({}));
    return this._engine;
  }

  _bind(engine) {
    this._engine = engine;
    const E = TUICallEvent;
    const on = (name, fn) => {
      const h = (p) => {
        try {
          fn(p || {});
        } catch (err) {
          console.error('tuicall-kit:', name, err);
        }
      };
      engine.on(name, h);
      this._handlers.push([name, h]);
    };
    engine.setCameraDefaultState(this._camDefault);
    on(E.ON_CALL_RECEIVED, (e) => this._onReceived(e));
    on(E.ON_CALL_BEGIN, () => this._onBegin());
    on(E.USER_ACCEPT, (e) => this._userState(e.userID, 'in'));
    on(E.USER_ENTER, (e) => this._userState(e.userID, 'in'));
    on(E.USER_LEAVE, (e) => this._userState(e.userID, 'left'));
    on(E.REJECT, (e) => this._userDone(e.userID, 'declined', 'msg.declined'));
    on(E.NO_RESP, (e) => (e.userIDList || []).forEach((u) => this._userDone(u, 'noresp', 'msg.noresp')));
    on(E.LINE_BUSY, (e) => this._userDone(e.userID, 'busy', 'msg.busy'));
    on(E.GROUP_CALL_INVITEE_LIST_UPDATE, (e) => {
      if (!this._call) return;
      for (const u of e.userIDList || []) if (u !== engine.userID && !this._call.users.has(u)) this._call.users.set(u, this._user('ringing'));
      this._render();
    });
    on(E.USER_AUDIO_AVAILABLE, (e) => this._userMedia(e.userID, 'audio', e.isAudioAvailable));
    on(E.USER_VIDEO_AVAILABLE, (e) => this._userMedia(e.userID, 'video', e.isVideoAvailable));
    on(E.USER_VOICE_VOLUME, (e) => {
      for (const v of e.volumeMap || []) {
        const u = this._call?.users.get(v.userId);
        if (u) u.volume = v.audioVolume;
      }
      this._each((el) => el._volumes());
    });
    on(E.REMOTE_STREAM, (e) => this._each((el) => el._stream(e.userID)));
    on(E.LOCAL_STREAM, () => {
      this._cam = !!engine.getLocalStream()?.getVideoTracks().length;
      this._render();
    });
    on(E.CALL_TYPE_CHANGED, (e) => {
      if (!this._call) return;
      this._call.mediaType = e.newCallType;
      if (e.newCallType === TUICallType.AUDIO_CALL) engine.closeCamera().catch(() => {});
      this._setStatus(this._connectedStatus());
    });
    on(E.ON_CALL_CANCELED, (e) => this._onEnd(e, true));
    on(E.CALLING_END, (e) => this._onEnd(e, false));
    on(E.KICKED_OUT, () => {
      this._endCall();
      this._message('msg.kicked');
      this._each((el) => el._callback('kickedOut', 'kicked-out'));
    });
    on(E.ERROR, (e) => {
      if (e.code === 2002) this._message('msg.sigexpired');
      else if (e.code === 5004) this._message('msg.lost');
      else if (e.code === 6004) this._message('msg.media');
      else if (e.code === 5007) {
        const mic = (e.devices || []).includes('microphone');
        this._message(e.denied ? (mic ? 'msg.micdenied' : 'msg.camdenied') : mic ? 'msg.nomic' : 'msg.nocam');
      }
    });
  }

  _unbind() {
    if (!this._engine) return;
    for (const [name, h] of this._handlers) this._engine.off(name, h);
    this._handlers = [];
  }

  // ---- session ----

  /** init({SDKAppID, userID, userSig, server?}) initialises the Kit and logs in. */
  async init({ SDKAppID, sdkAppID, userID, userSig, server } = {}) {
    const appID = Number(SDKAppID || sdkAppID);
    if (!appID) throw new TUICallError(3012, 'init: SDKAppID is required');
    if (!userID || !userSig) throw new TUICallError(1004, 'init: userID and userSig are required');
    if (!this._engine) this._bind(TUICallEngine.createInstance({ SDKAppID: appID, server }));
    else TUICallEngine.createInstance({ SDKAppID: appID });
    await this._engine.login({ userID, userSig, SDKAppID: appID });
    this._render();
  }

  /** login({SDKAppID, userID, userSig}, cb?) logs in (the U form; cb(res) with res.code 0 on success). */
  async login(opts = {}, cb) {
    return this._cb(this.init(opts), cb);
  }

  /** logout(cb?) ends any call and logs out. */
  async logout(cb) {
    const p = (async () => {
      if (!this._engine) return;
      await this._engine.logout();
      this._endCall();
    })();
    return this._cb(p, cb);
  }

  async _cb(p, cb) {
    if (typeof cb !== 'function') return p;
    try {
      const v = await p;
      cb({ code: 0, msg: '' });
      return v;
    } catch (err) {
      cb({ code: err.code || -1, msg: err.message || String(err) });
      throw err;
    }
  }

  /** setSelfInfo({nickName, avatar}) sets this user's profile (shown to others from the next call). */
  async setSelfInfo({ nickName = '', avatar = '' } = {}) {
    await this.getTUICallEngineInstance().setSelfInfo({ nickName, avatar });
  }

  // ---- calls ----

  _needIdle() {
    if (!this._engine || !this._engine._ws) throw new TUICallError(5001, 'not logged in');
    if (this._status !== STATUS.IDLE) throw new TUICallError(4005, 'already in a call');
  }

  /**
   * calls({userIDList, type, chatGroupID?, roomID?, strRoomID?, timeout?,
   * userData?, offlinePushInfo?}) starts a 1v1 call (one user) or a group
   * call (chatGroupID) and shows the dialing screen.
   */
  async calls(opts = {}) {
    try {
      this._needIdle();
    } catch (err) {
      if (err.code === 5001) this._message('msg.notloggedin');
      throw err;
    }
    const ids = (opts.userIDList || []).filter(Boolean);
    const group = !!opts.chatGroupID || ids.length > 1;
    const status = group ? STATUS.DIALING_GROUP : STATUS.DIALING_C2C;
    this._each((el) => el._callback('beforeCalling', 'before-calling', status, null));
    this._call = {
      callId: '',
      groupID: opts.chatGroupID || '',
      mediaType: Number(opts.type || TUICallType.AUDIO_CALL),
      role: 'inviter',
      sponsor: this._engine.userID,
      group,
      users: new Map(ids.map((u) => [u, this._user('ringing')])),
    };
    this._mic = true;
    this._notice = { key: '', text: '' };
    this._setStatus(status);
    try {
      const r = await this._engine.calls({ ...opts, userIDList: ids });
      if (this._call) this._call.callId = r.callId;
      this._cam = !!this._engine.getLocalStream()?.getVideoTracks().length;
      this._render();
      return r;
    } catch (err) {
      this._endCall();
      this._message('msg.failed', 'call', err.message);
      this._each((el) => el._callback('beforeCalling', 'before-calling', status, err));
      throw err;
    }
  }

  /** call({userID, type, …}) (deprecated in the reference): calls with one user. */
  call({ userID, ...rest } = {}) {
    return this.calls({ userIDList: [userID], ...rest });
  }

  /** groupCall({userIDList, type, groupID, …}) (deprecated in the reference). */
  groupCall({ groupID, ...rest } = {}) {
    return this.calls({ chatGroupID: groupID, ...rest });
  }

  /** join({callId}) joins a running group call. */
  async join({ callId } = {}) {
    this._needIdle();
    const r = await this._engine.join({ callId });
    this._joined(r.callId);
    return r;
  }

  /** joinInGroupCall({type, groupID, roomID}) joins the group's running call in that room. */
  async joinInGroupCall(opts = {}) {
    this._needIdle();
    const r = await this._engine.joinInGroupCall(opts);
    this._joined(r.callId);
    return r;
  }

  _joined(callId) {
    const info = this._engine.getCallInfo();
    this._call = {
      callId,
      groupID: info?.groupId || '',
      mediaType: info?.mediaType || 1,
      role: '',
      sponsor: info?.inviter || '',
      group: true,
      users: new Map(),
    };
    for (const u of info?.pending || []) this._call.users.set(u, this._user('ringing'));
    this._setStatus(this._connectedStatus());
  }

  /** accept() (termcall addition) answers the ringing call, as the Accept button. */
  async accept() {
    if (this._status !== STATUS.BE_INVITED) throw new TUICallError(5006, 'no incoming call');
    this._ringer.stop();
    this._bannerOpen = true;
    this._render();
    try {
      await this._engine.accept();
    } catch (err) {
      this._message('msg.failed', 'accept', err.message);
      throw err;
    }
  }

  /** reject() (termcall addition) declines the ringing call, as the Decline button. */
  async reject() {
    this._ringer.stop();
    await this._engine.reject();
  }

  /** hangup() (termcall addition) leaves the call (cancels it while dialing), as the Hang up button. */
  async hangup() {
    await this._engine?.hangup();
  }

  // ---- settings ----

  /** setCallingBell(url) sets the incoming ringtone (an MP3 or any audio URL); '' restores the default. */
  async setCallingBell(url) {
    this._ringer.url = url ? String(url) : '';
  }

  /** enableMuteMode(enable): no ringtone for incoming calls. */
  async enableMuteMode(enable) {
    this._muteMode = !!enable;
    if (this._muteMode) this._ringer.stop();
    else if (this._status === STATUS.BE_INVITED) this._ringer.start();
  }

  /** enableFloatWindow(enable) shows the minimise (floating window) button; default false. */
  async enableFloatWindow(enable) {
    this._floatWindow = !!enable;
    this._render();
  }

  /** enableIncomingBanner(enable): a banner first for incoming calls, full screen on demand; default false. */
  async enableIncomingBanner(enable) {
    this._banner = !!enable;
    this._render();
  }

  /** enableVirtualBackground(enable) shows the blur-background button. */
  async enableVirtualBackground(enable) {
    this._virtualBg = !!enable;
    this._render();
  }

  /** enableAIVoice(enable) turns AI noise reduction of the microphone on or off. */
  async enableAIVoice(enable) {
    this._aiVoice = !!enable;
    const eng = this.getTUICallEngineInstance();
    if (typeof eng.enableAIVoice !== 'function') {
      this._message('msg.aivoice', 'this engine has no noise reduction');
      throw new TUICallError(5007, 'enableAIVoice: not available');
    }
    try {
      await eng.enableAIVoice(this._aiVoice);
    } catch (err) {
      this._message('msg.aivoice', err.message);
      throw err;
    }
  }

  /** setLanguage('en' | 'zh-cn' | 'ja_JP'). */
  async setLanguage(lang) {
    const l = langOf(lang);
    if (!l) throw new TUICallError(1004, `setLanguage: ${JSON.stringify(lang)} is not en, zh-cn or ja_JP`);
    this._lang = l;
    if (this._notice.key) this._notice.text = this._t(this._notice.key, ...(this._notice.args || []));
    this._render();
  }

  /** language (termcall addition): the current language. */
  get language() {
    return this._lang;
  }

  /** hideFeatureButton(button): FeatureButton.Camera, Microphone, SwitchCamera or InviteUser. */
  async hideFeatureButton(button) {
    const b = Object.values(FeatureButton).find((v) => v.toLowerCase() === String(button || '').toLowerCase());
    if (!b) throw new TUICallError(1004, `hideFeatureButton: unknown button ${JSON.stringify(button)}`);
    this._hidden.add(b);
    this._render();
  }

  /** setLocalViewBackgroundImage(url): the local tile's background (shown without video). */
  async setLocalViewBackgroundImage(url) {
    this._localBg = url ? String(url) : '';
    this._render();
  }

  /** setRemoteViewBackgroundImage(userID, url): a remote tile's background ('*': every remote user). */
  async setRemoteViewBackgroundImage(userID, url) {
    if (!userID) throw new TUICallError(1004, 'setRemoteViewBackgroundImage: userID is required (or *)');
    if (url) this._remoteBg.set(String(userID), String(url));
    else this._remoteBg.delete(String(userID));
    this._render();
  }

  /** setLayoutMode(LayoutMode.LocalInLargeView | RemoteInLargeView): which view is large in a 1v1 video call. */
  async setLayoutMode(mode) {
    const m = Object.values(LayoutMode).find((v) => v === mode) || (mode === 'LocalInLargeView' ? 'local' : mode === 'RemoteInLargeView' ? 'remote' : '');
    if (!m) throw new TUICallError(1004, `setLayoutMode: unknown mode ${JSON.stringify(mode)}`);
    this._layout = m;
    this._render();
  }

  /** setCameraDefaultState(isOpen): whether video calls start with the camera on (default true). */
  async setCameraDefaultState(isOpen) {
    this._camDefault = !!isOpen;
    this.getTUICallEngineInstance().setCameraDefaultState(this._camDefault);
  }

  /** destroyed() ends the call and drops the Kit's state and its engine (logged out). */
  async destroyed() {
    const eng = this._engine;
    if (eng) {
      await eng.hangup().catch(() => {});
      this._unbind();
    }
    this._engine = null;
    this._reset();
    await TUICallEngine.destroyInstance();
    this._render();
  }

  // ---- state (termcall additions for pages and tests) ----

  /** status: the STATUS now. */
  get status() {
    return this._status;
  }

  /** ringing: the ringtone plays. */
  get ringing() {
    return this._ringer.playing;
  }

  /** bell: the <audio> playing the custom bell, or null. */
  get bell() {
    return this._ringer.element;
  }

  /** minimized: the floating window shows instead of the call screen. */
  get minimized() {
    return this._minimized;
  }

  /** notice: {key, text} of the message shown. */
  get notice() {
    return { ...this._notice };
  }

  /** setMinimized(bool) minimises to the floating window (or restores). */
  setMinimized(on) {
    on = !!on;
    if (on === this._minimized) return;
    const old = this._minimized;
    this._minimized = on;
    this._render();
    this._each((el) => el._callback('onMinimized', 'minimized', old, on));
  }

  // ---- internals ----

  _t(key, ...args) {
    const s = catalog[this._lang]?.[key] ?? catalog.en[key] ?? key;
    return s.replace(/\{(\d)\}/g, (_, i) => String(args[Number(i)] ?? ''));
  }

  _user(state) {
    return { state, audio: true, video: false, volume: 0 };
  }

  _each(fn) {
    for (const el of this._elements) fn(el);
  }

  _render() {
    this._each((el) => el._render());
  }

  _message(key, ...args) {
    this._notice = { key, args, text: key ? this._t(key, ...args) : '' };
    this._noticeAt = Date.now();
    this._render();
    this._each((el) => el._event('message', { key, text: this._notice.text }));
  }

  _setStatus(s) {
    const old = this._status;
    if (s === old) return this._render();
    this._status = s;
    if (s !== STATUS.BE_INVITED) this._ringer.stop();
    this._render();
    this._each((el) => el._callback('statusChanged', 'status-changed', { oldStatus: old, newStatus: s }));
  }

  _connectedStatus() {
    const c = this._call;
    const video = c && c.mediaType === TUICallType.VIDEO_CALL;
    if (c && c.group) return video ? STATUS.CALLING_GROUP_VIDEO : STATUS.CALLING_GROUP_AUDIO;
    return video ? STATUS.CALLING_C2C_VIDEO : STATUS.CALLING_C2C_AUDIO;
  }

  _onReceived(e) {
    this._each((el) => el._callback('beforeCalling', 'before-calling', STATUS.BE_INVITED, null));
    this._call = {
      callId: e.callId,
      groupID: e.groupID || '',
      mediaType: e.callMediaType,
      role: 'invitee',
      sponsor: e.sponsor,
      group: !!e.isFromGroup || (e.userIDList || []).length > 0,
      users: new Map([[e.sponsor, this._user('in')], ...(e.userIDList || []).map((u) => [u, this._user('ringing')])]),
    };
    this._mic = true;
    this._bannerOpen = false;
    this._minimized = false;
    this._notice = { key: '', text: '' };
    this._setStatus(STATUS.BE_INVITED);
    if (!this._muteMode) this._ringer.start();
  }

  _onBegin() {
    if (!this._call) return;
    this._startedAt = Date.now();
    this._ringer.stop();
    this._setStatus(this._connectedStatus());
  }

  _userState(u, state) {
    if (!this._call || u === this._engine.userID) return;
    if (state === 'left') this._call.users.delete(u);
    else this._call.users.set(u, { ...(this._call.users.get(u) || this._user(state)), state });
    this._render();
  }

  _userDone(u, state, msg) {
    if (!this._call) return;
    const cur = this._call.users.get(u);
    if (cur) cur.state = state;
    this._message(msg, u);
    // a group call shows who did not come for a moment, then drops the tile
    setTimeout(() => {
      if (this._call && this._call.users.get(u)?.state === state) {
        this._call.users.delete(u);
        this._render();
      }
    }, 3000);
  }

  _userMedia(u, kind, on) {
    const x = this._call?.users.get(u);
    if (!x) return;
    x[kind] = !!on;
    this._render();
  }

  _onEnd(e, cancelled) {
    if (!cancelled && e.totalTime !== undefined && this._status !== STATUS.IDLE) {
      if (!this._notice.key) this._message('msg.ended', fmtTime(e.totalTime || 0));
    } else if (cancelled && e.reason === 'canceled' && this._call?.role === 'invitee') {
      this._message('msg.canceled');
    }
    this._endCall();
  }

  _endCall() {
    const was = this._status;
    this._ringer.stop();
    this._call = null;
    this._minimized = false;
    this._bannerOpen = false;
    this._startedAt = 0;
    this._cam = false;
    this._blur = false;
    this._setStatus(STATUS.IDLE);
    if (was !== STATUS.IDLE) this._each((el) => el._callback('afterCalling', 'after-calling'));
  }

  // button actions
  async _toggleMic() {
    this._mic = !this._mic;
    this._render();
    await (this._mic ? this._engine.openMicrophone() : this._engine.closeMicrophone());
  }

  async _toggleCam(localEl) {
    if (this._cam) {
      await this._engine.closeCamera();
      this._cam = false;
    } else {
      await this._engine.openCamera(localEl);
      this._cam = !!this._engine.getLocalStream()?.getVideoTracks().length;
    }
    this._render();
  }

  async _toggleSpeaker() {
    const next = this._playback === AudioPlaybackDevice.SPEAKER ? AudioPlaybackDevice.EAR : AudioPlaybackDevice.SPEAKER;
    await this._engine.selectAudioPlaybackDevice(next);
    this._playback = next;
    this._render();
  }

  async _switchCamera() {
    try {
      await this._engine.switchCamera();
    } catch (err) {
      this._message(err.code === 5008 && /no other camera/.test(err.message) ? 'msg.nocamera2' : 'msg.failed', 'switchCamera', err.message);
    }
  }

  async _toggleBlur() {
    const eng = this._engine;
    const on = !this._blur;
    try {
      if (typeof eng.setBlurBackground !== 'function') throw new Error('this engine has no background blur');
      await eng.setBlurBackground(on ? 2 : 0);
      this._blur = on;
    } catch (err) {
      this._message('msg.fxunavailable', err.message);
    }
    this._render();
  }

  async _invite(ids) {
    if (!ids.length) return;
    try {
      const r = await this._engine.inviteUser({ userIDList: ids });
      for (const u of r.userIDList) if (this._call && !this._call.users.has(u)) this._call.users.set(u, this._user('ringing'));
      this._render();
    } catch (err) {
      this._message('msg.failed', 'inviteUser', err.message);
    }
  }
}

export const TUICallKitServer = new KitServer();
export const TUICallKitAPI = TUICallKitServer;

const css = new URL('./tuicall-kit.css', import.meta.url).href;

const BUTTONS = [
  // id, label key (on), label key (off) or '', feature, shown when
  ['mic', 'mute', 'unmute', FeatureButton.Microphone],
  ['camera', 'cam.off', 'cam.on', FeatureButton.Camera],
  ['speaker', 'speaker', 'earpiece', ''],
  ['switch', 'switch.cam', '', FeatureButton.SwitchCamera],
  ['blur', 'blur.off', 'blur', ''],
  ['invite', 'invite', '', FeatureButton.InviteUser],
  ['devices', 'devices', '', ''],
  ['hangup', 'hangup', '', ''],
];

/**
 * <tuicall-kit>: the call UI. Attributes (and properties): allowed-minimized
 * (false), allowed-full-screen (true), video-display-mode (cover | contain |
 * fill), video-resolution (480p | 720p | 1080p). Callbacks as properties:
 * beforeCalling(type, error), afterCalling(), onMinimized(oldMinimized,
 * newMinimized), kickedOut(), statusChanged({oldStatus, newStatus}); the same
 * as DOM events (before-calling, after-calling, minimized, kicked-out,
 * status-changed, and message {key, text}) with the arguments in detail.
 */
export class TUICallKit extends HTMLElement {
  static get observedAttributes() {
    return ['allowed-minimized', 'allowed-full-screen', 'video-display-mode', 'video-resolution'];
  }

  constructor() {
    super();
    this.server = TUICallKitServer;
    const root = this.attachShadow({ mode: 'open' });
    root.innerHTML = `<link rel="stylesheet" href="${css}">
<div class="toast" id="notice" role="alert" hidden></div>
<div class="kit" id="kit" part="kit" hidden>
  <div class="banner" id="banner" hidden>
    <div class="banner-body" id="banner-open"><strong class="who" id="banner-caller"></strong> <span id="banner-text"></span></div>
    <button class="round bad" id="banner-reject"></button><button class="round ok" id="banner-accept"></button>
  </div>
  <div class="screen incoming" id="incoming" hidden>
    <div class="avatar" id="incoming-avatar"></div>
    <div class="who" id="incoming-caller"></div>
    <div class="what" id="incoming-text"></div>
    <div class="others" id="incoming-others"></div>
    <div class="actions"><button class="round bad" id="reject"></button><button class="round ok" id="accept"></button></div>
  </div>
  <div class="screen call" id="call" hidden>
    <div class="top">
      <button class="small" id="minimize"></button>
      <span class="title" id="title"></span><span class="timer" id="timer"></span>
      <button class="small" id="fullscreen"></button>
    </div>
    <div class="stage" id="stage"></div>
    <div class="status" id="status"></div>
    <form class="invite-form" id="invite-form" hidden><input id="invite-ids"><button id="invite-go"></button></form>
    <div class="devices-panel" id="devices-panel" hidden>
      <label><span id="l-mic"></span><select id="mic-select"></select></label>
      <label><span id="l-cam"></span><select id="cam-select"></select></label>
      <label><span id="l-speaker"></span><select id="speaker-select"></select></label>
    </div>
    <div class="controls" id="controls">${BUTTONS.map(([id]) => `<button id="${id}" class="ctl ${id}"></button>`).join('')}</div>
  </div>
  <div class="mini" id="mini" hidden><video id="mini-video" autoplay playsinline muted></video><span id="mini-text"></span></div>
</div>`;
    this._$ = (id) => root.getElementById(id);
    this._tiles = new Map(); // userID ('' = local) → tile element
    const $ = this._$;
    const act = (what, fn) => () => Promise.resolve(fn()).catch((err) => this.server._message('msg.failed', what, err.message));
    $('accept').addEventListener('click', act('accept', () => this.server.accept()));
    $('reject').addEventListener('click', act('reject', () => this.server.reject()));
    $('banner-accept').addEventListener('click', act('accept', () => this.server.accept()));
    $('banner-reject').addEventListener('click', act('reject', () => this.server.reject()));
    $('banner-open').addEventListener('click', () => {
      this.server._bannerOpen = true;
      this.server._render();
    });
    $('hangup').addEventListener('click', act('hangup', () => this.server.hangup()));
    $('mic').addEventListener('click', act('microphone', () => this.server._toggleMic()));
    $('camera').addEventListener('click', act('camera', () => this.server._toggleCam(this._tile('').querySelector('video'))));
    $('speaker').addEventListener('click', act('speaker', () => this.server._toggleSpeaker()));
    $('switch').addEventListener('click', act('switchCamera', () => this.server._switchCamera()));
    $('blur').addEventListener('click', act('blur', () => this.server._toggleBlur()));
    $('invite').addEventListener('click', () => {
      $('invite-form').hidden = !$('invite-form').hidden;
      if (!$('invite-form').hidden) $('invite-ids').focus();
    });
    $('invite-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const ids = $('invite-ids').value.split(/[\s,]+/).filter(Boolean);
      $('invite-ids').value = '';
      $('invite-form').hidden = true;
      this.server._invite(ids);
    });
    $('devices').addEventListener('click', () => {
      $('devices-panel').hidden = !$('devices-panel').hidden;
      if (!$('devices-panel').hidden) this._devices();
    });
    for (const [id, type] of [['mic-select', 'microphone'], ['cam-select', 'camera'], ['speaker-select', 'speaker']]) {
      $(id).addEventListener('change', act('device', () => this.server._engine.switchDevice({ deviceType: type, deviceId: $(id).value })));
    }
    $('notice').addEventListener('click', () => {
      this.server._noticeHidden = this.server._noticeAt;
      $('notice').hidden = true;
    });
    $('minimize').addEventListener('click', () => this.server.setMinimized(true));
    $('mini').addEventListener('click', () => this.server.setMinimized(false));
    $('fullscreen').addEventListener('click', () => {
      if (document.fullscreenElement === this) document.exitFullscreen?.();
      else this.requestFullscreen?.().catch(() => {});
    });
    this._timer = null;
  }

  connectedCallback() {
    this.server._elements.add(this);
    this.server.getTUICallEngineInstance();
    this._applyResolution();
    this._render();
    this._timer = setInterval(() => this._tick(), 1000);
  }

  disconnectedCallback() {
    this.server._elements.delete(this);
    clearInterval(this._timer);
  }

  attributeChangedCallback(name) {
    if (name === 'video-resolution') this._applyResolution();
    this._render();
  }

  // props
  get allowedMinimized() {
    return this._bool('allowed-minimized', false);
  }
  set allowedMinimized(v) {
    this.setAttribute('allowed-minimized', String(!!v));
  }
  get allowedFullScreen() {
    return this._bool('allowed-full-screen', true);
  }
  set allowedFullScreen(v) {
    this.setAttribute('allowed-full-screen', String(!!v));
  }
  get videoDisplayMode() {
    const v = (this.getAttribute('video-display-mode') || '').toLowerCase();
    return Object.values(VideoDisplayMode).includes(v) ? v : VideoDisplayMode.COVER;
  }
  set videoDisplayMode(v) {
    this.setAttribute('video-display-mode', String(v));
  }
  get videoResolution() {
    const v = (this.getAttribute('video-resolution') || '').toLowerCase().replace(/^resolution_/, '');
    return VideoProfiles[v] && v !== '360p' ? v : VideoResolution.RESOLUTION_480P;
  }
  set videoResolution(v) {
    this.setAttribute('video-resolution', String(v));
  }

  _bool(name, def) {
    if (!this.hasAttribute(name)) return def;
    const v = this.getAttribute(name);
    return v === '' || v === 'true' || v === name;
  }

  _applyResolution() {
    const eng = this.server._engine;
    if (eng && this.isConnected) eng.setVideoQuality(this.videoResolution).catch(() => {});
  }

  _event(name, detail) {
    this.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }));
  }

  _callback(prop, event, ...args) {
    const f = this[prop];
    if (typeof f === 'function') {
      try {
        f(...args);
      } catch (err) {
        console.error('tuicall-kit:', prop, err);
      }
    }
    this._event(event, args.length <= 1 ? args[0] : args);
  }

  _tile(userID) {
    let tile = this._tiles.get(userID);
    if (!tile) {
      tile = document.createElement('div');
      tile.className = 'tile ' + (userID ? 'remote' : 'local');
      tile.id = userID ? 'remote-' + userID : 'local';
      tile.dataset.user = userID;
      const v = document.createElement('video');
      v.autoplay = true;
      v.playsInline = true;
      v.muted = true; // audio plays through the engine's own elements
      const name = document.createElement('span');
      name.className = 'name';
      const st = document.createElement('span');
      st.className = 'state';
      const vol = document.createElement('i');
      vol.className = 'volume';
      tile.append(v, name, st, vol);
      tile.addEventListener('click', () => {
        const s = this.server;
        if (s._call && !s._call.group && tile.classList.contains('small')) s.setLayoutMode(s._layout === LayoutMode.LocalInLargeView ? LayoutMode.RemoteInLargeView : LayoutMode.LocalInLargeView);
      });
      this._tiles.set(userID, tile);
      if (!userID) this.server._engine?.setLocalView(v);
    }
    return tile;
  }

  _stream(userID) {
    const tile = this._tiles.get(userID);
    if (!tile) return this._render();
    const s = this.server._engine.getRemoteStream(userID);
    const v = tile.querySelector('video');
    if (v.srcObject !== s) {
      v.srcObject = s;
      v.play?.().catch(() => {});
    }
    this._render();
  }

  _volumes() {
    const c = this.server._call;
    if (!c) return;
    for (const [u, x] of c.users) {
      const t = this._tiles.get(u);
      if (t) t.classList.toggle('speaking', x.volume > 10);
    }
  }

  async _devices() {
    const eng = this.server._engine;
    const $ = this._$;
    const local = eng.getLocalStream();
    const cur = {
      microphone: local?.getAudioTracks()[0]?.getSettings().deviceId,
      camera: local?.getVideoTracks()[0]?.getSettings().deviceId,
      speaker: eng.getAudioPlaybackDevice().deviceId,
    };
    for (const [type, id, key] of [['microphone', 'mic-select', 'dev.mic'], ['camera', 'cam-select', 'dev.cam'], ['speaker', 'speaker-select', 'dev.speaker']]) {
      const list = await eng.getDeviceList(type).catch(() => []);
      const sel = $(id);
      sel.replaceChildren(
        ...list.map((d, i) => {
          const o = document.createElement('option');
          o.value = d.deviceId;
          o.textContent = d.label || `${this.server._t(key)} ${i + 1}`;
          return o;
        }),
      );
      if (cur[type]) sel.value = cur[type];
    }
  }

  _tick() {
    const s = this.server;
    if (!this._$('notice').hidden && Date.now() - (s._noticeAt || 0) > 8000) this._$('notice').hidden = true;
    if (!s._startedAt) return;
    const txt = fmtTime(Math.floor((Date.now() - s._startedAt) / 1000));
    this._$('timer').textContent = txt;
    if (s._minimized) this._$('mini-text').textContent = txt;
  }

  // _render draws the UI from the server's state.
  _render() {
    const s = this.server;
    const $ = this._$;
    const t = (k, ...a) => s._t(k, ...a);
    const st = s._status;
    const c = s._call;
    const me = s._engine?.userID || '';
    this.dataset.status = st;
    $('notice').textContent = s._notice.text;
    // a message shows for 8 s (or until clicked); notice keeps it for pages
    $('notice').hidden = !s._notice.text || s._noticeHidden === s._noticeAt || Date.now() - (s._noticeAt || 0) > 8000;
    const idle = st === STATUS.IDLE || !c;
    $('kit').hidden = idle;
    $('kit').classList.toggle('inline', !this.allowedFullScreen);
    $('kit').dataset.display = this.videoDisplayMode;
    if (idle) {
      for (const [u, tile] of this._tiles) {
        tile.querySelector('video').srcObject = null;
        if (u) tile.remove(), this._tiles.delete(u);
      }
      $('mini').hidden = true;
      $('timer').textContent = '';
      return;
    }
    const invited = st === STATUS.BE_INVITED;
    const bannerMode = invited && s._banner && !s._bannerOpen;
    $('banner').hidden = !bannerMode;
    $('incoming').hidden = !invited || bannerMode;
    $('kit').classList.toggle('banner-only', bannerMode);
    const media = t(c.mediaType === TUICallType.VIDEO_CALL ? 'in.video' : 'in.audio');
    $('banner-caller').textContent = c.sponsor;
    $('banner-text').textContent = media;
    $('incoming-caller').textContent = c.sponsor;
    $('incoming-avatar').textContent = (c.sponsor || '?').slice(0, 1).toUpperCase();
    $('incoming-text').textContent = media + (c.groupID ? ' · ' + t('in.group', c.groupID) : '');
    $('incoming-others').textContent = [...c.users.keys()].filter((u) => u !== c.sponsor).join(', ');
    for (const [id, key] of [['accept', 'accept'], ['reject', 'reject'], ['banner-accept', 'accept'], ['banner-reject', 'reject']]) {
      $(id).textContent = t(key);
      $(id).title = t(key);
    }

    const inCall = !invited;
    $('call').hidden = !inCall || s._minimized;
    $('mini').hidden = !inCall || !s._minimized;
    if (!inCall) return;
    const video = c.mediaType === TUICallType.VIDEO_CALL;
    const dialing = st === STATUS.DIALING_C2C || st === STATUS.DIALING_GROUP;
    $('title').textContent = c.groupID ? t('in.group', c.groupID) : [...c.users.keys()].join(', ');
    const ringing = [...c.users].filter(([, x]) => x.state === 'ringing').map(([u]) => u);
    $('status').textContent = dialing ? t('st.waiting', ringing.join(', ')) : ringing.length ? t('st.waiting', ringing.join(', ')) : t('st.connected');

    // tiles: me and everyone (up to 9); 1v1 video: large and small views
    const stage = $('stage');
    const users = [...c.users.keys()].filter((u) => u !== me).slice(0, 8);
    const want = ['', ...users];
    for (const [u, tile] of this._tiles) {
      if (u && !c.users.has(u)) {
        tile.querySelector('video').srcObject = null;
        tile.remove();
        this._tiles.delete(u);
      }
    }
    const group = c.group;
    stage.className = `stage ${group ? 'group' : 'c2c'} ${video ? 'video' : 'audio'} n${want.length}`;
    for (const u of want) {
      const tile = this._tile(u);
      if (tile.parentNode !== stage) stage.appendChild(tile);
      const x = u ? c.users.get(u) : null;
      tile.querySelector('.name').textContent = u ? u : t('me');
      tile.querySelector('.state').textContent = x && x.state !== 'in' ? t('st.' + x.state) : '';
      tile.dataset.state = x ? x.state : 'in';
      tile.classList.toggle('muted', u ? !x.audio : !s._mic);
      const bg = u ? s._remoteBg.get(u) || s._remoteBg.get('*') || '' : s._localBg;
      tile.style.backgroundImage = bg ? `url(${JSON.stringify(bg)})` : '';
      tile.classList.toggle('has-bg', !!bg);
      const v = tile.querySelector('video');
      v.style.objectFit = this.videoDisplayMode;
      if (u) {
        const stream = s._engine.getRemoteStream(u);
        if (v.srcObject !== stream) {
          v.srcObject = stream;
          v.play?.().catch(() => {});
        }
        tile.classList.toggle('no-video', !(video && x.video && stream && stream.getVideoTracks().length));
      } else {
        s._engine.setLocalView(v);
        tile.classList.toggle('no-video', !(video && s._cam));
      }
      tile.classList.remove('large', 'small');
      if (!group && video) {
        const large = s._layout === LayoutMode.LocalInLargeView ? !u : !!u;
        tile.classList.add(large ? 'large' : 'small');
      }
    }
    // buttons
    const hidden = s._hidden;
    const show = {
      mic: !hidden.has(FeatureButton.Microphone),
      camera: video && !hidden.has(FeatureButton.Camera),
      speaker: true,
      switch: video && !hidden.has(FeatureButton.SwitchCamera),
      blur: video && s._virtualBg,
      invite: group && !dialing && !hidden.has(FeatureButton.InviteUser),
      devices: true,
      hangup: true,
    };
    const on = { mic: s._mic, camera: s._cam, speaker: s._playback === AudioPlaybackDevice.SPEAKER, blur: s._blur };
    for (const [id, kOn, kOff] of BUTTONS) {
      const b = $(id);
      b.hidden = !show[id];
      const label = kOff && on[id] === false ? t(kOff) : t(id === 'hangup' && dialing ? 'hangup' : kOn);
      b.textContent = label;
      b.title = label;
      b.classList.toggle('off', on[id] === false);
    }
    $('minimize').hidden = !(s._floatWindow || this.allowedMinimized);
    $('minimize').textContent = t('minimize');
    $('fullscreen').hidden = !this.allowedFullScreen;
    $('fullscreen').textContent = t('fullscreen');
    $('invite-go').textContent = t('invite.go');
    $('invite-ids').placeholder = t('invite.placeholder');
    $('l-mic').textContent = t('dev.mic');
    $('l-cam').textContent = t('dev.cam');
    $('l-speaker').textContent = t('dev.speaker');
    // the floating window shows the first remote video (or the timer)
    if (s._minimized) {
      const first = users.find((u) => c.users.get(u)?.state === 'in');
      const stream = first ? s._engine.getRemoteStream(first) : null;
      if ($('mini-video').srcObject !== stream) $('mini-video').srcObject = stream;
      $('mini').title = t('restore');
    }
  }
}

if (typeof customElements !== 'undefined' && !customElements.get('tuicall-kit')) customElements.define('tuicall-kit', TUICallKit);

export default TUICallKitServer;
