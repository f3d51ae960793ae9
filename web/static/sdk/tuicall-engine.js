// termcall Web SDK: the Web TUICallEngine API and its events (docs/web.md)
// over termcall's WebSocket protocol (docs/protocol.md) and the
// browser's RTCPeerConnection. ES module, no dependencies. See docs/web.md.
//
//   import { TUICallEngine, TUICallEvent, TUICallType } from '/sdk/tuicall-engine.js';
//   const engine = TUICallEngine.createInstance({ SDKAppID: 1400000001 });
//   engine.on(TUICallEvent.ON_CALL_RECEIVED, (e) => engine.accept());
//   await engine.login({ userID: 'alice', userSig });
//   await engine.calls({ userIDList: ['bob'], type: TUICallType.AUDIO_CALL });

export const VERSION = '1.0.0';

/** Event names (the values are what `on` takes; use the constants). */
export const TUICallEvent = Object.freeze({
  ERROR: 'error',
  SDK_READY: 'sdkReady',
  KICKED_OUT: 'kickedOut',
  USER_ACCEPT: 'userAccept',
  USER_ENTER: 'userEnter',
  USER_LEAVE: 'userLeave',
  REJECT: 'reject',
  NO_RESP: 'noResp',
  LINE_BUSY: 'lineBusy',
  USER_VIDEO_AVAILABLE: 'userVideoAvailable',
  USER_AUDIO_AVAILABLE: 'userAudioAvailable',
  USER_VOICE_VOLUME: 'userVoiceVolume',
  GROUP_CALL_INVITEE_LIST_UPDATE: 'groupCallInviteeListUpdate',
  ON_CALL_RECEIVED: 'onCallReceived',
  INVITED: 'invited', // deprecated: ON_CALL_RECEIVED
  ON_CALL_CANCELED: 'onCallCanceled',
  CALLING_CANCEL: 'callingCancel', // deprecated: ON_CALL_CANCELED
  ON_CALL_BEGIN: 'onCallBegin',
  CALLING_END: 'callingEnd',
  DEVICED_UPDATED: 'deviceUpdated',
  CALL_TYPE_CHANGED: 'callTypeChanged',
  ON_USER_NETWORK_QUALITY_CHANGED: 'onUserNetworkQualityChanged',
  // termcall additions (not in the reference):
  REMOTE_STREAM: 'remoteStream', // {userID, stream} a remote user's MediaStream arrived or changed
  LOCAL_STREAM: 'localStream', // {stream} the local MediaStream changed
});

/** Media types (reference values: 1 audio, 2 video). */
export const TUICallType = Object.freeze({ AUDIO_CALL: 1, VIDEO_CALL: 2 });
export const CallMediaType = Object.freeze({ UNKNOWN: 0, AUDIO: 1, VIDEO: 2 });
/** Web roles are strings. */
export const CallRole = Object.freeze({ CALLER: 'inviter', CALLEE: 'invitee', NONE: '' });
export const CallStatus = Object.freeze({ IDLE: 'idle', CALLING: 'calling', CONNECTED: 'connected' });
/** selectAudioPlaybackDevice values (the reference's AUDIO_PLAYBACK_DEVICE). */
export const AudioPlaybackDevice = Object.freeze({ EAR: 'ear', SPEAKER: 'speaker' });
export const AUDIO_PLAYBACK_DEVICE = AudioPlaybackDevice;
/** switchCamera values (the reference's Camera: Front 0, Back 1). */
export const TUICamera = Object.freeze({ FRONT: 'front', BACK: 'back' });
/** NetworkQuality (0 unknown … 6 down). */
export const NetworkQuality = Object.freeze({ UNKNOWN: 0, EXCELLENT: 1, GOOD: 2, POOR: 3, BAD: 4, VBAD: 5, DOWN: 6 });

/**
 * Video profiles of setVideoQuality (and the Kit's video-resolution): the
 * reference's VideoResolution (480p = 640×480, 15 fps, 900 kbps; 720p =
 * 1280×720, 15 fps, 1500 kbps; 1080p = 1920×1080, 15 fps, 2000 kbps) plus
 * 360p (640×360, 500 kbps, the reference's Resolution_640_360).
 */
export const VideoProfiles = Object.freeze({
  '360p': { width: 640, height: 360, frameRate: 15, bitrate: 500 },
  '480p': { width: 640, height: 480, frameRate: 15, bitrate: 900 },
  '720p': { width: 1280, height: 720, frameRate: 15, bitrate: 1500 },
  '1080p': { width: 1920, height: 1080, frameRate: 15, bitrate: 2000 },
});
const profileKey = (q) => {
  const k = String(q || '').toLowerCase().replace(/^resolution_/, '');
  return VideoProfiles[k] ? k : '';
};

// Network quality grades, as the Go engine's (engine/media_stats.go): each
// measure gets the best grade whose bound it is under; the worst wins.
const qualitySteps = [
  [NetworkQuality.EXCELLENT, 1, 20, 100],
  [NetworkQuality.GOOD, 3, 40, 200],
  [NetworkQuality.POOR, 8, 80, 350],
  [NetworkQuality.BAD, 15, 150, 600],
  [NetworkQuality.VBAD, 30, 300, 1000],
];

/**
 * qualityOf grades a loss percentage, a jitter and a round-trip time in
 * milliseconds (negative: unknown, not graded) as NetworkQuality 1..6.
 */
export function qualityOf(lossPct, jitterMs, rttMs) {
  const grade = (v, i) => {
    if (!(v >= 0)) return NetworkQuality.EXCELLENT;
    for (const st of qualitySteps) if (v < st[i]) return st[0];
    return NetworkQuality.DOWN;
  };
  let q = Math.max(grade(lossPct, 1), grade(jitterMs, 2));
  if (rttMs >= 0) q = Math.max(q, grade(rttMs, 3));
  return q;
}

const roleName = (r) => (r === 1 ? 'inviter' : r === 2 ? 'invitee' : '');
// The reference's roomID is a Number: a string room (strRoomId) gives
// roomID 0 and its string in strRoomID (a termcall addition, present only
// for string rooms).
const roomNumber = (room) => (room && room.intRoomId) || 0;
const roomFields = (room) => {
  const f = { roomID: roomNumber(room) };
  if (room && !room.intRoomId && room.strRoomId) f.strRoomID = room.strRoomId;
  return f;
};
// inviteID identifies one invitation: the invitation of user to call callId
// (the server keeps one invitation per user and call).
const inviteIDOf = (callId, user) => (callId && user ? `${callId}:${user}` : callId || '');
const has = (set, v) => !!set && (set instanceof Set ? set.has(v) : Array.isArray(set) && set.includes(v));

const eventKeys = new Map(Object.entries(TUICallEvent).map(([k, v]) => [v, k]));

// callFields is the {callId, roomID, callMediaType, callRole} of a server event.
function callFields(ev, call) {
  return {
    callId: ev.callId,
    ...roomFields(ev.roomId),
    callMediaType: ev.mediaType || (call ? call.mediaType : 0),
    callRole: roleName(ev.role || (call ? call.role : 0)),
  };
}

/**
 * mapEvent maps one server event (docs/protocol.md, the `data` of a
 * `{"type":"event"}` frame) to the Web TUICallEvents it raises, in order:
 * [{name: 'ON_CALL_BEGIN', event: TUICallEvent.ON_CALL_BEGIN, payload}].
 * It is pure: ctx is {self: this user's ID, call: the engine's current call
 * if it is ev's ({callId, role (1 caller, 2 callee), inviter, mediaType,
 * pending: the invitees still ringing, an Array or Set}) or null}.
 * USER_ACCEPT is raised only for a user of call.pending: someone who
 * accepted an invitation (not one who joined by itself, nor the ones already
 * in the call that a newly connected device learns about).
 * Exported for tests and for other clients of the same protocol.
 */
export function mapEvent(ev, { self = '', call = null } = {}) {
  const out = [];
  const emit = (event, payload) => out.push({ name: eventKeys.get(event), event, payload });
  const cur = call && call.callId === ev.callId ? call : null;
  switch (ev.event) {
    case 'onCallReceived': {
      const p = {
        sponsor: ev.callerId,
        userIDList: (ev.calleeIdList || []).filter((u) => u !== self),
        isFromGroup: !!ev.groupId,
        inviteData: { callType: ev.mediaType, ...roomFields(ev.roomId) },
        inviteID: inviteIDOf(ev.callId, self),
        userData: ev.userData || '',
        callId: ev.callId,
        ...roomFields(ev.roomId),
        callMediaType: ev.mediaType,
        callRole: 'invitee',
        groupID: ev.groupId || '',
      };
      emit(TUICallEvent.ON_CALL_RECEIVED, p);
      emit(TUICallEvent.INVITED, p);
      break;
    }
    case 'onCallCancelled': {
      const f = callFields({ ...ev, role: cur ? cur.role : ev.role }, cur);
      // Web rule (docs/web.md, ON_CALL_CANCELED): the callee gets its own ID when the
      // caller cancels; the native protocol carries the caller's.
      let userID = ev.userId;
      if (cur && cur.role === 2 && userID === cur.inviter) userID = self;
      const p = { userID, ...f, reason: ev.reason };
      emit(TUICallEvent.ON_CALL_CANCELED, p);
      emit(TUICallEvent.CALLING_CANCEL, p);
      break;
    }
    case 'onCallBegin':
      emit(TUICallEvent.ON_CALL_BEGIN, callFields(ev, cur));
      break;
    case 'onCallEnd': {
      const f = callFields({ ...ev, role: cur ? cur.role : ev.role }, cur);
      emit(TUICallEvent.CALLING_END, {
        ...f,
        totalTime: ev.totalTime || 0,
        callEnd: ev.totalTime || 0,
        userID: ev.userId || '',
        reason: ev.reason,
      });
      break;
    }
    case 'onUserJoin':
      if (cur && ev.userId !== cur.inviter && has(cur.pending, ev.userId)) emit(TUICallEvent.USER_ACCEPT, { userID: ev.userId });
      emit(TUICallEvent.USER_ENTER, { userID: ev.userId });
      break;
    case 'onUserLeave':
      emit(TUICallEvent.USER_LEAVE, { userID: ev.userId });
      break;
    case 'onUserReject':
      emit(TUICallEvent.REJECT, { userID: ev.userId, inviteID: inviteIDOf(ev.callId, ev.userId) });
      break;
    case 'onUserNoResponse':
      emit(TUICallEvent.NO_RESP, { sponsor: cur ? cur.inviter : '', userIDList: [ev.userId], inviteID: inviteIDOf(ev.callId, ev.userId) });
      break;
    case 'onUserLineBusy':
      emit(TUICallEvent.LINE_BUSY, { userID: ev.userId, inviteID: inviteIDOf(ev.callId, ev.userId) });
      break;
    case 'onUserVideoAvailable':
      emit(TUICallEvent.USER_VIDEO_AVAILABLE, { userID: ev.userId, isVideoAvailable: !!ev.available });
      break;
    case 'onUserAudioAvailable':
      emit(TUICallEvent.USER_AUDIO_AVAILABLE, { userID: ev.userId, isAudioAvailable: !!ev.available });
      break;
    case 'onCallMediaTypeChanged':
      emit(TUICallEvent.CALL_TYPE_CHANGED, { oldCallType: ev.oldMediaType, newCallType: ev.mediaType });
      break;
    case 'onGroupCallInviteeListUpdate':
      emit(TUICallEvent.GROUP_CALL_INVITEE_LIST_UPDATE, { userIDList: ev.userIdList || [] });
      break;
    case 'onKickedOffline':
      emit(TUICallEvent.KICKED_OUT);
      break;
    case 'onUserSigExpired':
      emit(TUICallEvent.ERROR, { code: 2002, msg: 'userSig expired: calls go on; log in again with a new userSig before placing calls' });
      break;
    case 'onError':
      emit(TUICallEvent.ERROR, { code: ev.code, msg: ev.message || '' });
      break;
  }
  return out;
}

/** TUICallError is what rejected promises carry: code (docs/errors.md) and message. */
export class TUICallError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'TUICallError';
    this.code = code;
  }
}

let instance = null;

// The PeerConnection of a call: one transport for everything.
const pcConfig = { bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' };

export class TUICallEngine {
  /**
   * createInstance({SDKAppID, server?}) returns the singleton engine.
   * server is the termcall server's http(s) base URL (default: this page's origin).
   */
  static createInstance(opts = {}) {
    if (!instance) instance = new TUICallEngine(opts);
    else if (opts.SDKAppID) instance._sdkAppID = Number(opts.SDKAppID);
    return instance;
  }

  /** destroyInstance logs out and drops the singleton. */
  static async destroyInstance() {
    const e = instance;
    instance = null;
    if (e) await e.logout().catch(() => {});
  }

  constructor(opts = {}) {
    this._sdkAppID = Number(opts.SDKAppID || opts.sdkAppID || 0);
    this._server = (opts.server || (typeof location !== 'undefined' ? location.origin : '')).replace(/\/$/, '');
    this._handlers = new Map();
    this._ws = null;
    this._nextID = 1;
    this._pending = new Map();
    this._userID = '';
    this._userSig = '';
    this._deviceID = '';
    this._lastSeq = 0;
    this._loggedOut = true;
    this._call = null; // {callId, roomID, groupId, mediaType, role, inviter, status}
    this._pcs = new Map(); // callId → {pc, chain, remote: Map(userID → MediaStream)}
    this._local = null; // MediaStream of the local microphone (and camera)
    this._micOn = true;
    this._camOn = false;
    this._micDeviceID = '';
    this._camDeviceID = '';
    this._views = new Map(); // userID → video element id
    this._localView = '';
    this._audioEls = new Map(); // userID → hidden <audio>
    this._volTimer = null;
    this._qualityTimer = null;
    this._qualityPrev = new Map(); // stats id → {lost, received}
    this._speakerID = '';
    this._playback = AudioPlaybackDevice.SPEAKER;
    this._profile = '480p';
    this._beauty = 0;
    this._fx = null; // VideoFx on the camera track while an effect is on
    this._aiVoice = false;
    this._blurLevel = 0;
    this._bgImage = null; // an <img> for the virtual background
    this._ns = null; // NoiseSuppressor on the microphone track while AI voice is on
    this._facing = '';
    this._camDefault = true;
    if (typeof navigator !== 'undefined' && navigator.mediaDevices) {
      navigator.mediaDevices.addEventListener?.('devicechange', () => this._devicesChanged());
    }
  }

  // ---- events ----

  /** on(eventName, handler) subscribes to a TUICallEvent. */
  on(name, handler) {
    if (!this._handlers.has(name)) this._handlers.set(name, new Set());
    this._handlers.get(name).add(handler);
  }

  /** off(eventName, handler) unsubscribes; without a handler, all of them. */
  off(name, handler) {
    const hs = this._handlers.get(name);
    if (!hs) return;
    if (handler) hs.delete(handler);
    else hs.clear();
  }

  _emit(name, payload) {
    for (const h of [...(this._handlers.get(name) || [])]) {
      try {
        h(payload);
      } catch (err) {
        console.error('termcall: handler for', name, err);
      }
    }
  }

  // ---- session ----

  get userID() {
    return this._userID;
  }

  /** login({userID, userSig, SDKAppID?}) connects to the server; SDK_READY follows. */
  async login({ userID, userSig, SDKAppID } = {}) {
    if (SDKAppID) this._sdkAppID = Number(SDKAppID);
    if (!userID || !userSig) throw new TUICallError(1004, 'login needs userID and userSig');
    if (!this._sdkAppID) throw new TUICallError(3012, 'SDKAppID is required (createInstance({SDKAppID}) or login)');
    if (this._ws) await this.logout().catch(() => {});
    this._userID = userID;
    this._userSig = userSig;
    this._deviceID = 'web-' + randomID();
    this._lastSeq = 0;
    this._loggedOut = false;
    let reply;
    try {
      reply = await this._connect();
    } catch (err) {
      // A refused login (wrong or expired userSig, …) is final: no retries.
      this._loggedOut = true;
      const ws = this._ws;
      this._ws = null;
      if (ws) ws.close();
      throw err;
    }
    this._emit(TuiEv.SDK_READY);
    return reply;
  }

  async _connect() {
    const url = this._server.replace(/^http/, 'ws') + '/v1/ws';
    const ws = new WebSocket(url);
    this._ws = ws;
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = () => reject(new TUICallError(5002, 'cannot reach ' + url));
    });
    ws.onmessage = (m) => this._onFrame(m.data);
    ws.onclose = () => this._onClose(ws);
    ws.onerror = null;
    const reply = await this._request('login', {
      version: 1,
      sdkAppId: this._sdkAppID,
      userId: this._userID,
      userSig: this._userSig,
      deviceId: this._deviceID,
      lastSeq: this._lastSeq,
    });
    if (!reply.resumed && this._call && !(reply.calls || []).some((c) => c.callId === this._call.callId)) {
      // The server forgot this device (grace period over, or it restarted),
      // or could not replay what it missed and the call is gone.
      this._endLocally('endByServer');
    }
    return reply;
  }

  _onClose(ws) {
    if (ws !== this._ws) return;
    this._ws = null;
    for (const [, p] of this._pending) p.reject(new TUICallError(5004, 'connection lost'));
    this._pending.clear();
    if (this._loggedOut) return;
    // Resume within the server's grace period: same deviceId, lastSeq.
    let tries = 0;
    const retry = () => {
      if (this._loggedOut || this._ws) return;
      this._connect().catch(() => {
        if (++tries < 10) setTimeout(retry, Math.min(200 * 2 ** tries, 2000));
        else this._emit(TuiEv.ERROR, { code: 5004, msg: 'connection to the server lost' });
      });
    };
    setTimeout(retry, 200);
  }

  /** logout() ends this device's calls and closes the connection. */
  async logout() {
    this._loggedOut = true;
    const ws = this._ws;
    if (ws && ws.readyState === WebSocket.OPEN) {
      await this._request('logout', {}).catch(() => {});
    }
    this._ws = null;
    if (ws) ws.close();
    this._endLocally('hangup');
  }

  _send(obj) {
    if (!this._ws || this._ws.readyState !== WebSocket.OPEN) throw new TUICallError(5004, 'not connected');
    this._ws.send(JSON.stringify(obj));
  }

  _request(type, data) {
    return new Promise((resolve, reject) => {
      const id = this._nextID++;
      try {
        this._send({ type, id, data });
      } catch (err) {
        reject(err);
        return;
      }
      const timer = setTimeout(() => {
        this._pending.delete(id);
        reject(new TUICallError(5003, type + ': no reply'));
      }, 10000);
      this._pending.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
    });
  }

  _onFrame(text) {
    let m;
    try {
      m = JSON.parse(text);
    } catch {
      return;
    }
    if (m.type === 'reply') {
      const p = this._pending.get(m.id);
      if (!p) return;
      this._pending.delete(m.id);
      if (m.error) p.reject(new TUICallError(m.error.code, m.error.message));
      else p.resolve(m.data || {});
    } else if (m.type === 'event') {
      if (m.data.seq) this._lastSeq = Math.max(this._lastSeq, m.data.seq);
      this._onEvent(m.data);
    } else if (m.type === 'media') {
      this._onMedia(m.data);
    }
  }

  // ---- calls ----

  _needLogin() {
    if (!this._ws || this._loggedOut) throw new TUICallError(5001, 'not logged in');
  }

  /**
   * calls({userIDList, type, chatGroupID?, timeout?, roomID?, strRoomID?, userData?, offlinePushInfo?})
   * starts a 1v1 call (one user, no group) or a group call (chatGroupID).
   */
  async calls({ userIDList, type, chatGroupID, timeout, roomID, strRoomID, userData, offlinePushInfo } = {}) {
    this._needLogin();
    const ids = (userIDList || []).filter(Boolean);
    const mediaType = Number(type || TUICallType.AUDIO_CALL);
    const params = { roomId: {} };
    if (typeof roomID === 'number' && roomID > 0) params.roomId.intRoomId = roomID;
    else if (typeof roomID === 'string' && roomID) params.roomId.strRoomId = roomID;
    if (strRoomID) params.roomId.strRoomId = strRoomID;
    if (timeout) params.timeout = Number(timeout);
    if (userData) params.userData = String(userData);
    if (offlinePushInfo) params.offlinePushInfo = offlinePushInfo;
    // Ask for the microphone (and camera) first: the server's media offer
    // arrives as soon as the call is placed. Its PeerConnection is made
    // meanwhile (_warmPC).
    this._warmPC();
    await this._ensureLocal(mediaType);
    const group = !!chatGroupID || ids.length > 1;
    const reply = group
      ? await this._request('groupCall', { userIds: ids, groupId: chatGroupID || '', mediaType, params })
      : await this._request('call', { userIds: ids, mediaType, params });
    this._setCall(reply.call);
    return { callId: reply.call.callId, ...roomFields(reply.call.roomId) };
  }

  /** call({userID, type, ...}) (deprecated in the reference): calls with one user. */
  call({ userID, ...rest } = {}) {
    return this.calls({ userIDList: [userID], ...rest });
  }

  /** groupCall({userIDList, type, groupID, ...}) (deprecated in the reference). */
  groupCall({ groupID, ...rest } = {}) {
    return this.calls({ chatGroupID: groupID, ...rest });
  }

  /** join({callId}) joins a running group call. */
  async join({ callId } = {}) {
    this._needLogin();
    await this._ensureLocal(CallMediaType.AUDIO);
    const reply = await this._request('join', { callId });
    this._setCall(reply.call);
    return { callId: reply.call.callId };
  }

  /**
   * joinInGroupCall({type, groupID, roomID}) joins the call running in the
   * group's room (all required: roomID a Number, or strRoomID a string room).
   * Resolves {callId, roomID}.
   */
  async joinInGroupCall({ type, groupID, roomID, strRoomID } = {}) {
    this._needLogin();
    const mediaType = Number(type);
    if (mediaType !== CallMediaType.AUDIO && mediaType !== CallMediaType.VIDEO) throw new TUICallError(3003, 'joinInGroupCall: type must be 1 (audio) or 2 (video)');
    if (!groupID) throw new TUICallError(3007, 'joinInGroupCall: groupID is required');
    const roomId = {};
    if (typeof roomID === 'number' && Number.isInteger(roomID) && roomID > 0) roomId.intRoomId = roomID;
    else if (strRoomID || (typeof roomID === 'string' && roomID)) roomId.strRoomId = String(strRoomID || roomID);
    else throw new TUICallError(3002, 'joinInGroupCall: roomID is required (a Number in 1..2147483647)');
    await this._ensureLocal(mediaType);
    const reply = await this._request('joinInGroupCall', { roomId, groupId: String(groupID), mediaType });
    this._setCall(reply.call);
    return { callId: reply.call.callId, ...roomFields(reply.call.roomId) };
  }

  /**
   * inviteUser({userIDList, timeout?, userData?, offlinePushInfo?}) invites
   * more users into the current group call (its room; no room parameter).
   * Resolves {userIDList}: the users invited.
   */
  async inviteUser({ userIDList, timeout, userData, offlinePushInfo } = {}) {
    const c = this._needCall();
    const ids = (userIDList || []).filter(Boolean);
    if (!ids.length) throw new TUICallError(3010, 'inviteUser: userIDList is empty');
    const params = { roomId: {} };
    if (timeout) params.timeout = Number(timeout);
    if (userData) params.userData = String(userData);
    if (offlinePushInfo) params.offlinePushInfo = offlinePushInfo;
    const reply = await this._request('inviteUser', { callId: c.callId, userIds: ids, params });
    const invited = reply.userIds || [];
    if (this._call && this._call.callId === c.callId) for (const u of invited) this._call.pending.add(u);
    return { userIDList: invited };
  }

  /**
   * ignore() leaves a ringing invitation unanswered: the caller gets
   * LINE_BUSY (as if busy), this device ON_CALL_CANCELED (reason lineBusy).
   */
  async ignore() {
    const c = this._needCall();
    await this._request('ignore', { callId: c.callId });
  }

  /** accept() answers the ringing call. */
  async accept() {
    const c = this._needCall();
    await this._ensureLocal(c.mediaType);
    const reply = await this._request('accept', { callId: c.callId });
    if (reply.call) this._setCall(reply.call);
  }

  /** reject() declines the ringing call. */
  async reject() {
    const c = this._needCall();
    await this._request('reject', { callId: c.callId });
  }

  /** hangup() leaves the call (and cancels it while it still rings). */
  async hangup() {
    const c = this._call;
    if (!c) return;
    try {
      await this._request('hangup', { callId: c.callId });
    } catch (err) {
      if (err.code !== 4002 && err.code !== 4003 && err.code !== 4004) throw err;
      this._endLocally('hangup');
    }
  }

  /** switchCallMediaType(type) switches the current call to audio or video. */
  async switchCallMediaType(type) {
    const c = this._needCall();
    await this._request('switchCallMediaType', { callId: c.callId, mediaType: Number(type) });
  }

  /** setSelfInfo({nickName, avatar}) sets the user's profile. */
  async setSelfInfo({ nickName = '', avatar = '' } = {}) {
    this._needLogin();
    await this._request('setSelfInfo', { nickname: nickName, avatar });
  }

  /** enableMultiDeviceAbility(enable) sets this device's multi-device mode. */
  async enableMultiDeviceAbility(enable) {
    this._needLogin();
    await this._request('enableMultiDevice', { enable: !!enable });
  }

  /**
   * queryRecentCalls({begin, end, resultType, limit}) lists this user's call
   * records, newest first (times in unix seconds; resultType 1 missed,
   * 2 incoming, 3 outgoing, 0/omitted all). Resolves the records of
   * docs/protocol.md: {callId, inviter, inviteList, scene, mediaType, groupId,
   * roomId, role, result, beginTime, totalTime, endReason, live?}.
   */
  async queryRecentCalls({ begin = 0, end = 0, resultType = 0, limit = 0 } = {}) {
    this._needLogin();
    const data = {};
    if (begin) data.begin = Number(begin);
    if (end) data.end = Number(end);
    if (resultType) data.resultType = Number(resultType);
    if (limit) data.limit = Number(limit);
    const reply = await this._request('queryRecentCalls', data);
    return reply.records || [];
  }

  /** deleteRecordCalls({callIds}) hides records for this user; resolves the IDs deleted. */
  async deleteRecordCalls({ callIds } = {}) {
    this._needLogin();
    const reply = await this._request('deleteRecordCalls', { callIds: callIds || [] });
    return reply.deleted || [];
  }

  /**
   * leaveNow() (termcall addition) is for a page going away (pagehide,
   * beforeunload): it sends hangup (or reject, when ringing) and logout
   * at once, without waiting for replies, and closes the connection, so
   * that the others see the call end now rather than after the server's
   * grace period.
   */
  leaveNow() {
    const ws = this._ws;
    const c = this._call;
    this._loggedOut = true;
    if (ws && ws.readyState === WebSocket.OPEN) {
      try {
        const ringing = c && c.role === 2 && c.status === CallStatus.CALLING;
        if (c) ws.send(JSON.stringify({ type: ringing ? 'reject' : 'hangup', id: this._nextID++, data: { callId: c.callId } }));
        ws.send(JSON.stringify({ type: 'logout', id: this._nextID++, data: {} }));
      } catch {
        /* going away anyway */
      }
    }
    this._ws = null;
    if (ws) ws.close(1001, 'page closed');
    this._endLocally('hangup');
  }

  _needCall() {
    this._needLogin();
    if (!this._call) throw new TUICallError(5006, 'no current call');
    return this._call;
  }

  /** getCallInfo() (termcall addition): the current call or null. */
  getCallInfo() {
    if (!this._call) return null;
    const c = { ...this._call, pending: [...this._call.pending], joined: [...this._call.joined] };
    return c;
  }

  _setCall(cs) {
    const prev = this._call && this._call.callId === cs.callId ? this._call : null;
    // pending: the invitees still ringing, as this device knows them (for
    // USER_ACCEPT); joined: the users seen in the call.
    const pending = new Set();
    const joined = prev ? prev.joined : new Set();
    for (const p of cs.participants || []) {
      if (p.userId === this._userID) continue;
      if (p.status === 1 && p.role === 2) pending.add(p.userId);
      else if (p.status === 2) joined.add(p.userId);
    }
    this._call = {
      callId: cs.callId,
      ...roomFields(cs.roomId),
      groupId: cs.groupId || '',
      mediaType: cs.mediaType,
      role: cs.role,
      inviter: cs.inviter,
      status: cs.status === 2 ? CallStatus.CONNECTED : CallStatus.CALLING,
      pending,
      joined,
    };
  }

  // Server events → Web TUICallEvent: mapEvent (pure) gives the Web events;
  // here the engine's own state follows the server's.
  _onEvent(ev) {
    const cur = this._call && this._call.callId === ev.callId ? this._call : null;
    const out = mapEvent(ev, { self: this._userID, call: cur });
    switch (ev.event) {
      case 'onCallReceived':
        this._call = {
          callId: ev.callId,
          ...roomFields(ev.roomId),
          groupId: ev.groupId || '',
          mediaType: ev.mediaType,
          role: 2,
          inviter: ev.callerId,
          status: CallStatus.CALLING,
          pending: new Set((ev.calleeIdList || []).filter((u) => u !== this._userID)),
          joined: new Set(),
        };
        break;
      case 'onUserJoin':
        if (cur) {
          cur.pending.delete(ev.userId);
          cur.joined.add(ev.userId);
        }
        break;
      case 'onUserReject':
      case 'onUserNoResponse':
      case 'onUserLineBusy':
        if (cur) cur.pending.delete(ev.userId);
        break;
      case 'onGroupCallInviteeListUpdate':
        if (cur) {
          for (const u of ev.userIdList || []) {
            if (u !== this._userID && u !== cur.inviter && !cur.joined.has(u)) cur.pending.add(u);
          }
        }
        break;
      case 'onCallCancelled':
      case 'onCallEnd':
        this._endLocally(ev.reason);
        break;
      case 'onCallBegin':
        if (cur) {
          cur.status = CallStatus.CONNECTED;
          cur.role = ev.role || cur.role;
        }
        this._startVolume();
        this._startQuality();
        break;
      case 'onUserLeave':
        this._removeRemote(ev.userId);
        if (cur) cur.joined.delete(ev.userId);
        break;
      case 'onCallMediaTypeChanged':
        if (cur) cur.mediaType = ev.mediaType;
        break;
      case 'onKickedOffline':
        this._loggedOut = true;
        this._endLocally('offline');
        break;
    }
    for (const { event, payload } of out) this._emit(event, payload);
  }

  // The call is over for this device: media down, local devices released.
  _endLocally() {
    const c = this._call;
    this._call = null;
    if (c) this._closePC(c.callId);
    for (const id of [...this._pcs.keys()]) this._closePC(id);
    if (this._spare) {
      this._spare.close();
      this._spare = null;
    }
    this._stopVolume();
    this._stopQuality();
    if (this._fx) {
      this._fx.stop();
      this._fx = null;
    }
    if (this._ns) {
      this._ns.stop();
      this._ns = null;
    }
    if (this._local) {
      for (const t of this._local.getTracks()) t.stop();
      this._local = null;
      this._emit(TuiEv.LOCAL_STREAM, { stream: null });
    }
    this._camOn = false;
    this._micOn = true;
    this._noMic = false;
  }

  // ---- media ----

  // _ensureLocal opens the microphone (and, for video, the camera). When a
  // device is refused or missing the call goes on without it: video falls
  // back to audio only, audio to listen-only (the others are told by the
  // state report); ERROR 5007 says what happened.
  async _ensureLocal(mediaType) {
    if (!this._local) this._local = new MediaStream();
    const want = { audio: !this._local.getAudioTracks().length && !this._noMic, video: false };
    if (mediaType === CallMediaType.VIDEO && (this._camDefault || this._camOn) && !this._local.getVideoTracks().length) want.video = true;
    if (!want.audio && !want.video) return this._local;
    const c = (on, id, kind) => {
      if (!on) return false;
      const x = id ? { deviceId: { exact: id } } : {};
      if (kind === 'video') Object.assign(x, this._videoConstraints());
      return Object.keys(x).length ? x : true;
    };
    const tries = [want];
    if (want.audio && want.video) tries.push({ audio: true, video: false }, { audio: false, video: true });
    let got = null;
    let firstErr = null;
    for (const w of tries) {
      try {
        got = await navigator.mediaDevices.getUserMedia({ audio: c(w.audio, this._micDeviceID, 'audio'), video: c(w.video, this._camDeviceID, 'video') });
        break;
      } catch (err) {
        firstErr = firstErr || err;
      }
    }
    if (got) {
      for (const t of got.getTracks()) {
        if (t.kind === 'audio') t.enabled = this._micOn;
        this._local.addTrack(t);
      }
      if (got.getVideoTracks().length) this._camOn = true;
    }
    const missing = [];
    if (want.audio && !this._local.getAudioTracks().length) missing.push('microphone');
    if (want.video && !this._local.getVideoTracks().length) missing.push('camera');
    if (missing.length) {
      if (missing.includes('microphone')) this._noMic = true; // do not ask again in this call
      const denied = firstErr && (firstErr.name === 'NotAllowedError' || firstErr.name === 'SecurityError');
      this._emit(TuiEv.ERROR, {
        code: 5007,
        msg: `${denied ? 'permission denied for' : 'cannot open'} the ${missing.join(' and ')}: ` +
          (missing.includes('microphone') ? 'the call goes on listen-only' : 'the call goes on with audio only') +
          (firstErr ? ` (${firstErr.name}: ${firstErr.message})` : ''),
        denied: !!denied,
        devices: missing,
      });
    }
    this._emit(TuiEv.LOCAL_STREAM, { stream: this._local });
    this._renderLocal();
    await this._refreshSenders();
    return this._local;
  }

  _onMedia(sig) {
    switch (sig.kind) {
      case 'offer': {
        const e = this._pcFor(sig.callId);
        e.chain = e.chain.then(() => this._answer(sig.callId, e, sig.sdp)).catch((err) => {
          // A call that ended meanwhile (its PeerConnection gone) is no error.
          if (this._pcs.get(sig.callId) !== e) return;
          this._emit(TuiEv.ERROR, { code: 6004, msg: 'media negotiation: ' + err.message });
        });
        break;
      }
      case 'candidate': {
        const e = this._pcs.get(sig.callId);
        if (e && sig.candidate) e.pc.addIceCandidate(JSON.parse(sig.candidate)).catch(() => {});
        break;
      }
      case 'close':
        this._closePC(sig.callId);
        break;
    }
  }

  // _warmPC makes the PeerConnection of a call this device places while
  // the microphone opens and the call is placed, before the server's offer
  // comes: its certificate and transport are ready by then, and the
  // candidate pool lets the browser gather ahead (docs/performance.md,
  // "Media at answer").
  _warmPC() {
    if (this._spare || typeof RTCPeerConnection === 'undefined') return;
    this._spare = new RTCPeerConnection({ ...pcConfig, iceCandidatePoolSize: 1 });
  }

  _pcFor(callId) {
    let e = this._pcs.get(callId);
    if (e) return e;
    const pc = this._spare || new RTCPeerConnection(pcConfig);
    this._spare = null;
    e = { pc, chain: Promise.resolve(), remote: new Map(), uplink: { audio: null, video: null }, stateSent: '' };
    pc.ontrack = (t) => {
      const stream = t.streams[0];
      if (!stream) return;
      const userID = stream.id;
      e.remote.set(userID, stream);
      stream.onremovetrack = () => this._emit(TuiEv.REMOTE_STREAM, { userID, stream });
      this._playAudio(userID, stream);
      this._renderRemote(userID);
      this._emit(TuiEv.REMOTE_STREAM, { userID, stream });
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'failed') this._emit(TuiEv.ERROR, { code: 6004, msg: 'media transport failed' });
    };
    // Candidates found after the answer went out trickle (the ones before
    // are in its SDP). The SFU needs none of them to connect (it learns the
    // address from this side's checks), so the answer does not wait for
    // gathering: that wait delayed media of an instant answer by the
    // gathering time (docs/performance.md, "Media at answer").
    pc.onicecandidate = (ev) => {
      if (!ev.candidate || !e.answered) return;
      this._request('media', { kind: 'candidate', callId, candidate: JSON.stringify(ev.candidate.toJSON()) }).catch(() => {});
    };
    this._pcs.set(callId, e);
    return e;
  }

  async _answer(callId, e, sdp) {
    const pc = e.pc;
    await pc.setRemoteDescription({ type: 'offer', sdp });
    // The offer's recvonly sections are this device's uplink; its sendonly
    // ones carry the other participants.
    const dirs = sectionDirections(sdp);
    for (const tr of pc.getTransceivers()) {
      if (tr.stopped || tr.mid == null) continue;
      const d = dirs.get(tr.mid);
      if (d === 'recvonly') {
        tr.direction = 'sendonly';
        const kind = tr.receiver.track.kind;
        e.uplink[kind] = tr;
      } else if (d === 'sendonly') {
        tr.direction = 'recvonly';
      } else if (d === 'inactive') {
        tr.direction = 'inactive';
      }
    }
    // The senders get their tracks before the answer; the state report
    // (a round trip to the server) waits until the answer is out.
    await this._refreshSenders(false);
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    if (!this._pcs.has(callId)) return; // closed meanwhile
    const local = pc.localDescription.sdp; // with the candidates so far;
    e.answered = true; // later ones trickle (onicecandidate)
    await this._request('media', { kind: 'answer', callId, sdp: local });
    await this._sendState(callId);
  }

  async _refreshSenders(report = true) {
    this._syncFx();
    await this._syncNS();
    for (const e of this._pcs.values()) {
      const a = this._sentAudioTrack();
      const v = this._sentVideoTrack();
      if (e.uplink.audio && e.uplink.audio.sender.track !== a) await e.uplink.audio.sender.replaceTrack(a);
      if (e.uplink.video && e.uplink.video.sender.track !== v) await e.uplink.video.sender.replaceTrack(v);
      if (e.uplink.video) await this._applyBitrate(e.uplink.video.sender);
    }
    if (!report) return;
    for (const id of this._pcs.keys()) await this._sendState(id).catch(() => {});
  }

  async _sendState(callId) {
    const e = this._pcs.get(callId);
    if (!e || !e.pc.remoteDescription) return;
    const audio = !!(this._micOn && this._local && this._local.getAudioTracks().length);
    const video = !!(this._camOn && this._local && this._local.getVideoTracks().length);
    const key = `${audio}/${video}`;
    if (e.stateSent === key) return;
    e.stateSent = key;
    await this._request('media', { kind: 'state', callId, audio, video });
  }

  _closePC(callId) {
    const e = this._pcs.get(callId);
    if (!e) return;
    this._pcs.delete(callId);
    e.pc.close();
    for (const userID of e.remote.keys()) this._removeRemote(userID);
  }

  _removeRemote(userID) {
    const el = this._audioEls.get(userID);
    if (el) {
      el.srcObject = null;
      el.remove();
      this._audioEls.delete(userID);
    }
    for (const e of this._pcs.values()) e.remote.delete(userID);
    this._emit(TuiEv.REMOTE_STREAM, { userID, stream: null });
  }

  // Remote audio plays by itself, through one hidden <audio> per user.
  _playAudio(userID, stream) {
    if (typeof document === 'undefined') return;
    let el = this._audioEls.get(userID);
    if (!el) {
      el = document.createElement('audio');
      el.autoplay = true;
      el.dataset.termcallUser = userID;
      el.style.display = 'none';
      document.body.appendChild(el);
      this._audioEls.set(userID, el);
      if (this._speakerID) el.setSinkId?.(this._speakerID).catch(() => {});
    }
    if (el.srcObject !== stream) el.srcObject = stream;
    el.play?.().catch(() => {});
  }

  /** getRemoteStream(userID) (termcall addition): a remote user's MediaStream or null. */
  getRemoteStream(userID) {
    for (const e of this._pcs.values()) if (e.remote.has(userID)) return e.remote.get(userID);
    return null;
  }

  /** getLocalStream() (termcall addition): the local MediaStream or null. */
  getLocalStream() {
    return this._local;
  }

  /** getPeerConnection() (termcall addition): the current call's RTCPeerConnection, for stats. */
  getPeerConnection() {
    const c = this._call;
    const e = c ? this._pcs.get(c.callId) : [...this._pcs.values()][0];
    return e ? e.pc : null;
  }

  /** startRemoteView({userID, videoViewDomID}) renders a user's video into a <video> (or its container). */
  async startRemoteView({ userID, videoViewDomID } = {}) {
    this._views.set(userID, videoViewDomID);
    this._renderRemote(userID);
  }

  /** stopRemoteView({userID}) stops rendering a user's video. */
  async stopRemoteView({ userID } = {}) {
    const el = videoEl(this._views.get(userID));
    if (el) el.srcObject = null;
    this._views.delete(userID);
  }

  _renderRemote(userID) {
    const el = videoEl(this._views.get(userID));
    const s = this.getRemoteStream(userID);
    if (el && s && el.srcObject !== s) {
      el.muted = true; // audio plays through the SDK's own element
      el.srcObject = s;
      el.play?.().catch(() => {});
    }
  }

  _renderLocal() {
    const el = videoEl(this._localView);
    const s = this._previewStream();
    if (el && el.srcObject !== s) {
      el.muted = true;
      el.srcObject = s;
      el.play?.().catch(() => {});
    }
  }

  // The local preview shows what is sent: the camera through the effects.
  _previewStream() {
    if (!this._local) return null;
    if (!this._fx) return this._local;
    if (!this._fxPreview || this._fxPreview.getVideoTracks()[0] !== this._fx.track) this._fxPreview = new MediaStream([this._fx.track]);
    return this._fxPreview;
  }

  _videoConstraints() {
    const p = VideoProfiles[this._profile];
    const x = { width: { ideal: p.width }, height: { ideal: p.height }, frameRate: { ideal: p.frameRate } };
    if (this._facing) x.facingMode = { ideal: this._facing === TUICamera.BACK ? 'environment' : 'user' };
    return x;
  }

  // _sentVideoTrack is the video track for the uplink: the camera's, through
  // the beauty filter when one is on; null with the camera off.
  _sentVideoTrack() {
    const cam = this._local && this._camOn ? this._local.getVideoTracks()[0] || null : null;
    if (!cam) return null;
    return this._fx && this._fx.source === cam ? this._fx.track : cam;
  }

  // _syncFx starts, updates or stops the effects pipeline for the camera.
  _syncFx() {
    const cam = this._local && this._camOn ? this._local.getVideoTracks()[0] || null : null;
    const want = cam && (this._beauty > 0 || this._blurLevel > 0 || !!this._bgImage);
    if (this._fx && (!want || this._fx.source !== cam)) {
      this._fx.stop();
      this._fx = null;
    }
    if (want && !this._fx) {
      try {
        this._fx = new VideoFx(cam);
      } catch (err) {
        this._fx = null;
        this._emit(TuiEv.ERROR, { code: 5008, msg: 'video effects unavailable: ' + err.message });
      }
    }
    if (this._fx) {
      this._fx.beauty = this._beauty;
      this._fx.blur = this._blurLevel;
      this._fx.background = this._bgImage;
    }
    this._renderLocal();
  }

  async _applyBitrate(sender) {
    if (!sender.track || !sender.getParameters) return;
    const want = VideoProfiles[this._profile].bitrate * 1000;
    const p = sender.getParameters();
    if (!p.encodings || !p.encodings.length) p.encodings = [{}];
    if (p.encodings[0].maxBitrate === want) return;
    p.encodings[0].maxBitrate = want;
    p.encodings[0].maxFramerate = VideoProfiles[this._profile].frameRate;
    await sender.setParameters(p).catch(() => {});
  }

  /**
   * setVideoQuality(profile) sets the camera's resolution and the video
   * bitrate: '360p', '480p' (the default), '720p' or '1080p' (or the Kit's
   * 'RESOLUTION_720P' form). It applies to the camera now and to later
   * calls; the browser may pick a lower size than asked.
   */
  async setVideoQuality(profile) {
    const k = profileKey(profile);
    if (!k) throw new TUICallError(1004, `setVideoQuality: unknown profile ${JSON.stringify(profile)} (360p, 480p, 720p or 1080p)`);
    this._profile = k;
    const cam = this._local ? this._local.getVideoTracks()[0] : null;
    if (cam) await cam.applyConstraints(this._videoConstraints()).catch(() => {});
    for (const e of this._pcs.values()) if (e.uplink.video) await this._applyBitrate(e.uplink.video.sender);
  }

  /** getVideoQuality() (termcall addition): the current profile key. */
  getVideoQuality() {
    return this._profile;
  }

  /**
   * setBeautyLevel(level) sets the beauty filter on the outgoing video:
   * 0 off … 9 strongest (a skin-smoothing blend of a blurred copy over the
   * picture, drawn on a canvas). A number outside 0..9 is refused (1004).
   */
  async setBeautyLevel(level) {
    const n = Number(level);
    if (typeof level === 'boolean' || level === null || level === '' || !Number.isFinite(n) || n < 0 || n > 9) {
      throw new TUICallError(1004, `setBeautyLevel: level ${JSON.stringify(level)} is not in 0..9`);
    }
    this._beauty = n;
    await this._refreshSenders();
  }

  /**
   * enableAIVoice(enable) turns AI noise reduction of the microphone on or
   * off: RNNoise (WebAssembly, in an AudioWorklet at 48 kHz) between the
   * microphone and the sender. It needs the files of scripts/web-deps.sh
   * (served at /sdk/vendor/); without them it rejects with 5007 and the
   * microphone goes on unprocessed. It applies now and to later calls.
   */
  async enableAIVoice(enable) {
    const on = !!enable;
    if (on) await NoiseSuppressor.check();
    this._aiVoice = on;
    await this._refreshSenders();
    if (on && this._local && this._local.getAudioTracks().length && !this._ns) {
      throw new TUICallError(5007, 'enableAIVoice: noise reduction could not start: ' + (this._nsError || 'unknown'));
    }
  }

  /** getAIVoice() (termcall addition): {enabled, active (processing the microphone now)}. */
  getAIVoice() {
    return { enabled: this._aiVoice, active: !!this._ns };
  }

  _sentAudioTrack() {
    const mic = this._local ? this._local.getAudioTracks()[0] || null : null;
    if (!mic) return null;
    return this._ns && this._ns.source === mic ? this._ns.track : mic;
  }

  async _syncNS() {
    const mic = this._local ? this._local.getAudioTracks()[0] || null : null;
    const want = mic && this._aiVoice;
    if (this._ns && (!want || this._ns.source !== mic)) {
      this._ns.stop();
      this._ns = null;
    }
    if (want && !this._ns && !this._nsStarting) {
      this._nsStarting = true;
      try {
        this._ns = await NoiseSuppressor.start(mic);
        this._nsError = '';
      } catch (err) {
        this._nsError = err.message;
        this._emit(TuiEv.ERROR, { code: 5007, msg: 'AI noise reduction unavailable: ' + err.message });
      } finally {
        this._nsStarting = false;
      }
    }
  }

  /**
   * setBlurBackground(level) blurs the background of the sent video behind
   * the person: 0 off, 1 low, 2 medium, 3 high. The person is found by
   * MediaPipe's selfie segmentation (WebAssembly and WebGL; the files of
   * scripts/web-deps.sh at /sdk/vendor/); without them it rejects with 5008.
   */
  async setBlurBackground(level) {
    const n = Number(level);
    if (typeof level === 'boolean' || level === null || level === '' || !Number.isInteger(n) || n < 0 || n > 3) {
      throw new TUICallError(1004, `setBlurBackground: level ${JSON.stringify(level)} is not 0, 1, 2 or 3`);
    }
    if (n > 0) await Segmenter.get();
    this._blurLevel = n;
    if (n > 0) this._bgImage = null;
    await this._refreshSenders();
  }

  /**
   * setVirtualBackground(url) replaces the background of the sent video
   * behind the person with an image (a URL the page may load: this origin,
   * data: or blob:); '' turns it off. Segmentation as setBlurBackground.
   */
  async setVirtualBackground(url) {
    if (!url) {
      this._bgImage = null;
      await this._refreshSenders();
      return;
    }
    await Segmenter.get();
    const img = new Image();
    img.src = String(url);
    try {
      await img.decode();
    } catch {
      throw new TUICallError(1004, 'setVirtualBackground: cannot load the image ' + String(url).slice(0, 80));
    }
    this._bgImage = img;
    this._blurLevel = 0;
    await this._refreshSenders();
  }

  /** getVideoEffects() (termcall addition): {beauty, blur, virtualBackground, segmented (a mask arrived)}. */
  getVideoEffects() {
    return { beauty: this._beauty, blur: this._blurLevel, virtualBackground: !!this._bgImage, segmented: !!(this._fx && this._fx.maskReady) };
  }

  /** getBeautyLevel() (termcall addition). */
  getBeautyLevel() {
    return this._beauty;
  }

  /**
   * switchCamera(camera?) switches between cameras: to 'front'/'back'
   * (TUICamera; 0/1 as the reference's Camera) by facing mode, or, without
   * an argument, to the next camera the browser lists. With the camera off
   * the choice applies when it opens. Rejects with 5008 when there is no
   * other camera.
   */
  async switchCamera(camera) {
    let facing = '';
    if (camera === 0 || camera === TUICamera.FRONT) facing = TUICamera.FRONT;
    else if (camera === 1 || camera === TUICamera.BACK) facing = TUICamera.BACK;
    else if (camera !== undefined && camera !== null) throw new TUICallError(1004, `switchCamera: unknown camera ${JSON.stringify(camera)}`);
    const cur = this._local ? this._local.getVideoTracks()[0] : null;
    const cams = await this.getDeviceList('camera').catch(() => []);
    const curID = cur ? cur.getSettings().deviceId : this._camDeviceID;
    let next = '';
    if (!facing) {
      if (cams.length < 2) throw new TUICallError(5008, 'switchCamera: no other camera');
      const i = cams.findIndex((d) => d.deviceId === curID);
      next = cams[(i + 1) % cams.length].deviceId;
    }
    this._facing = facing || this._facing;
    if (!cur) {
      if (next) this._camDeviceID = next;
      return { deviceId: next };
    }
    let s;
    try {
      s = await navigator.mediaDevices.getUserMedia({
        video: next ? { ...this._videoConstraints(), facingMode: undefined, deviceId: { exact: next } } : { ...this._videoConstraints(), facingMode: { exact: facing === TUICamera.BACK ? 'environment' : 'user' } },
      });
    } catch (err) {
      throw new TUICallError(5008, `switchCamera: cannot open the ${facing || 'next'} camera (${err.name}: ${err.message})`);
    }
    const t = s.getVideoTracks()[0];
    this._camDeviceID = t.getSettings().deviceId || next;
    this._local.removeTrack(cur);
    this._local.addTrack(t);
    this._renderLocal();
    // The senders move to the new track before the old one stops (Chromium's
    // encoder stalls on a sender whose track ended under it).
    await this._refreshSenders();
    cur.stop();
    this._devicesChanged();
    return { deviceId: this._camDeviceID };
  }

  /**
   * selectAudioPlaybackDevice(device) picks the earpiece or the speaker
   * ('ear' or 'speaker', AUDIO_PLAYBACK_DEVICE): remote audio goes to the
   * speaker (the default output) or to an earpiece/headset output when the
   * browser lists one ('communications', or a label naming an earpiece,
   * headset or headphones), else stays on the default output. Resolves
   * {device, deviceId} with the output used ('' = default).
   */
  async selectAudioPlaybackDevice(device) {
    const d = String(device || '').toLowerCase();
    if (d !== AudioPlaybackDevice.EAR && d !== AudioPlaybackDevice.SPEAKER) {
      throw new TUICallError(1004, `selectAudioPlaybackDevice: ${JSON.stringify(device)} is not 'ear' or 'speaker'`);
    }
    let id = '';
    if (d === AudioPlaybackDevice.EAR) {
      const outs = await this.getDeviceList('speaker').catch(() => []);
      const ear = outs.find((o) => o.deviceId === 'communications') || outs.find((o) => /earpiece|receiver|headset|headphone/i.test(o.label));
      if (ear) id = ear.deviceId;
    }
    this._playback = d;
    await this.switchDevice({ deviceType: 'speaker', deviceId: id });
    return { device: d, deviceId: id };
  }

  /** getAudioPlaybackDevice() (termcall addition): {device, deviceId}. */
  getAudioPlaybackDevice() {
    return { device: this._playback, deviceId: this._speakerID };
  }

  /**
   * setCameraDefaultState(isOpen) (termcall addition; the Kit's): whether a
   * video call opens the camera by itself (default true). With false the
   * call starts with the camera off until openCamera.
   */
  setCameraDefaultState(isOpen) {
    this._camDefault = !!isOpen;
  }

  /**
   * setLocalView(videoViewDomID) (termcall addition): where the local
   * preview shows (an element ID or an element: a <video> or a container),
   * without turning the camera on.
   */
  setLocalView(videoViewDomID) {
    this._localView = videoViewDomID || '';
    this._renderLocal();
  }

  /** openCamera(videoViewDomID?) turns the camera on (preview in that element: an ID or an element). */
  async openCamera(videoViewDomID) {
    if (typeof videoViewDomID === 'object' && videoViewDomID && !(typeof Element !== 'undefined' && videoViewDomID instanceof Element)) videoViewDomID = videoViewDomID.videoViewDomID;
    if (videoViewDomID) this._localView = videoViewDomID;
    this._camOn = true;
    await this._ensureLocal(CallMediaType.VIDEO);
    this._renderLocal();
    await this._refreshSenders();
  }

  /** closeCamera() turns the camera off; the others get USER_VIDEO_AVAILABLE false. */
  async closeCamera() {
    this._camOn = false;
    if (this._local) {
      for (const t of this._local.getVideoTracks()) {
        t.stop();
        this._local.removeTrack(t);
      }
    }
    await this._refreshSenders();
  }

  /** openMicrophone() unmutes; the others get USER_AUDIO_AVAILABLE true. */
  async openMicrophone() {
    this._micOn = true;
    if (this._local) for (const t of this._local.getAudioTracks()) t.enabled = true;
    await this._refreshSenders();
  }

  /** closeMicrophone() mutes; the others get USER_AUDIO_AVAILABLE false. */
  async closeMicrophone() {
    this._micOn = false;
    if (this._local) for (const t of this._local.getAudioTracks()) t.enabled = false;
    await this._refreshSenders();
  }

  /** getDeviceList(type) lists 'camera', 'microphone' or 'speaker' devices (all without a type). */
  async getDeviceList(type) {
    const kinds = { camera: 'videoinput', microphone: 'audioinput', speaker: 'audiooutput' };
    const all = await navigator.mediaDevices.enumerateDevices();
    return all.filter((d) => !type || d.kind === kinds[type]).map((d) => ({ deviceId: d.deviceId, label: d.label, kind: d.kind, groupId: d.groupId }));
  }

  /** switchDevice({deviceType: 'camera'|'microphone'|'speaker', deviceId}) changes the device in use. */
  async switchDevice({ deviceType, deviceId } = {}) {
    if (deviceType === 'speaker') {
      for (const el of this._audioEls.values()) await el.setSinkId?.(deviceId);
      this._speakerID = deviceId;
      return;
    }
    const kind = deviceType === 'camera' ? 'video' : 'audio';
    if (kind === 'video') this._camDeviceID = deviceId;
    else this._micDeviceID = deviceId;
    if (!this._local) return;
    const old = kind === 'video' ? this._local.getVideoTracks() : this._local.getAudioTracks();
    if (!old.length) return;
    const s = await navigator.mediaDevices.getUserMedia({ [kind]: { deviceId: { exact: deviceId } } });
    const t = s.getTracks()[0];
    if (kind === 'audio') t.enabled = this._micOn;
    for (const o of old) {
      o.stop();
      this._local.removeTrack(o);
    }
    this._local.addTrack(t);
    await this._refreshSenders();
    this._devicesChanged();
  }

  async _devicesChanged() {
    try {
      const [mics, cams] = await Promise.all([this.getDeviceList('microphone'), this.getDeviceList('camera')]);
      const a = this._local?.getAudioTracks()[0];
      const v = this._local?.getVideoTracks()[0];
      this._emit(TuiEv.DEVICED_UPDATED, {
        microphoneList: mics,
        cameraList: cams,
        currentMicrophoneID: a?.getSettings().deviceId || this._micDeviceID,
        currentCameraID: v?.getSettings().deviceId || this._camDeviceID,
      });
    } catch {
      /* no devices API */
    }
  }

  // USER_VOICE_VOLUME every 300 ms from the receivers' audio levels (the
  // SFU forwards the audio-level extension) and the local source.
  _startVolume() {
    if (this._volTimer) return;
    this._volTimer = setInterval(async () => {
      const pc = this.getPeerConnection();
      if (!pc) return;
      const volumeMap = [];
      const byTrack = new Map();
      for (const e of this._pcs.values())
        for (const [userID, s] of e.remote) for (const t of s.getAudioTracks()) byTrack.set(t.id, userID);
      try {
        const stats = await pc.getStats();
        stats.forEach((r) => {
          if (r.type === 'inbound-rtp' && r.kind === 'audio' && byTrack.has(r.trackIdentifier)) {
            volumeMap.push({ userId: byTrack.get(r.trackIdentifier), audioVolume: Math.round((r.audioLevel || 0) * 100) });
          } else if (r.type === 'media-source' && r.kind === 'audio') {
            volumeMap.push({ userId: this._userID, audioVolume: this._micOn ? Math.round((r.audioLevel || 0) * 100) : 0 });
          }
        });
      } catch {
        return;
      }
      if (volumeMap.length) this._emit(TuiEv.USER_VOICE_VOLUME, { volumeMap });
    }, 300);
  }

  _stopVolume() {
    clearInterval(this._volTimer);
    this._volTimer = null;
  }

  // ON_USER_NETWORK_QUALITY_CHANGED every 2 s in a call: this user's from
  // the server's receiver reports on the uplink (remote-inbound-rtp: loss,
  // jitter, round trip), each remote user's from the loss and jitter of its
  // streams here (inbound-rtp, since the last report).
  _startQuality() {
    if (this._qualityTimer) return;
    this._qualityPrev = new Map();
    this._qualityTimer = setInterval(() => this._reportQuality(), 2000);
  }

  _stopQuality() {
    clearInterval(this._qualityTimer);
    this._qualityTimer = null;
  }

  async _reportQuality() {
    const pc = this.getPeerConnection();
    if (!pc) return;
    let stats;
    try {
      stats = await pc.getStats();
    } catch {
      return;
    }
    const byTrack = new Map();
    for (const e of this._pcs.values()) for (const [userID, s] of e.remote) for (const t of s.getTracks()) byTrack.set(t.id, userID);
    const worst = new Map(); // userId → quality
    const put = (u, q) => worst.set(u, Math.max(worst.get(u) || 0, q));
    let own = NetworkQuality.UNKNOWN;
    let pairRTT = -1;
    stats.forEach((r) => {
      if (r.type === 'candidate-pair' && r.nominated && r.currentRoundTripTime !== undefined) pairRTT = r.currentRoundTripTime * 1000;
    });
    stats.forEach((r) => {
      if (r.type === 'remote-inbound-rtp') {
        const rtt = r.roundTripTime !== undefined ? r.roundTripTime * 1000 : pairRTT;
        own = Math.max(own, qualityOf((r.fractionLost || 0) * 100, (r.jitter || 0) * 1000, rtt));
      } else if (r.type === 'inbound-rtp' && byTrack.has(r.trackIdentifier)) {
        const prev = this._qualityPrev.get(r.id) || { lost: 0, received: 0 };
        const lost = Math.max(0, (r.packetsLost || 0) - prev.lost);
        const received = Math.max(0, (r.packetsReceived || 0) - prev.received);
        this._qualityPrev.set(r.id, { lost: r.packetsLost || 0, received: r.packetsReceived || 0 });
        if (lost + received === 0) return;
        put(byTrack.get(r.trackIdentifier), qualityOf((100 * lost) / (lost + received), (r.jitter || 0) * 1000, -1));
      }
    });
    if (own === NetworkQuality.UNKNOWN && pairRTT >= 0) own = qualityOf(0, 0, pairRTT);
    const networkQualityList = [{ userId: this._userID, quality: own }];
    for (const [userId, quality] of worst) networkQualityList.push({ userId, quality });
    this._emit(TuiEv.ON_USER_NETWORK_QUALITY_CHANGED, { networkQualityList });
  }
}

const TuiEv = TUICallEvent;

function randomID() {
  const a = new Uint8Array(8);
  crypto.getRandomValues(a);
  return [...a].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function videoEl(id) {
  if (!id || typeof document === 'undefined') return null;
  let el = typeof id === 'string' ? document.getElementById(id) : id;
  if (!el) return null;
  if (el.tagName !== 'VIDEO') {
    let v = el.querySelector('video');
    if (!v) {
      v = document.createElement('video');
      v.autoplay = true;
      v.playsInline = true;
      v.style.width = '100%';
      v.style.height = '100%';
      el.appendChild(v);
    }
    el = v;
  }
  return el;
}

// sectionDirections maps each m-section's mid to its direction attribute.
function sectionDirections(sdp) {
  const out = new Map();
  for (const sec of sdp.split(/\r?\nm=/).slice(1)) {
    const mid = /\na=mid:(\S+)/.exec('\n' + sec);
    const dir = /\na=(sendrecv|sendonly|recvonly|inactive)\b/.exec('\n' + sec);
    if (mid) out.set(mid[1], dir ? dir[1] : 'sendrecv');
  }
  return out;
}

// NoiseSuppressor runs a microphone track through RNNoise in an
// AudioWorklet (./tuicall-rnnoise-worklet.js) and gives the cleaned track.
export class NoiseSuppressor {
  static workletURL = new URL('./tuicall-rnnoise-worklet.js', import.meta.url).href;
  static vendorURL = new URL('./vendor/rnnoise/rnnoise-sync.js', import.meta.url).href;

  // check rejects (5007) when the RNNoise files are not served.
  static async check() {
    if (typeof AudioWorkletNode === 'undefined') throw new TUICallError(5007, 'enableAIVoice: this browser has no AudioWorklet');
    let ok = false;
    try {
      ok = (await fetch(NoiseSuppressor.vendorURL, { method: 'HEAD' })).ok;
    } catch {
      ok = false;
    }
    if (!ok) throw new TUICallError(5007, 'enableAIVoice: the RNNoise files are not installed on this server (scripts/web-deps.sh)');
  }

  static async start(track) {
    const ctx = new AudioContext({ sampleRate: 48000 });
    try {
      await ctx.audioWorklet.addModule(NoiseSuppressor.workletURL);
      const src = ctx.createMediaStreamSource(new MediaStream([track]));
      const node = new AudioWorkletNode(ctx, 'termcall-rnnoise', { numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [1] });
      const dst = ctx.createMediaStreamDestination();
      src.connect(node).connect(dst);
      await ctx.resume().catch(() => {});
      const ns = new NoiseSuppressor();
      ns.source = track;
      ns.track = dst.stream.getAudioTracks()[0];
      ns.ctx = ctx;
      ns.node = node;
      ns.frames = 0;
      node.port.onmessage = (e) => (ns.frames = e.data.frames || ns.frames);
      return ns;
    } catch (err) {
      ctx.close().catch(() => {});
      throw err;
    }
  }

  stop() {
    this.node?.port.postMessage({ stop: true });
    this.track?.stop();
    this.ctx?.close().catch(() => {});
  }
}

// Segmenter is MediaPipe's selfie segmentation (the npm package
// @mediapipe/selfie_segmentation, fetched by scripts/web-deps.sh into
// ./vendor/selfie_segmentation/), loaded once per page: segment(canvas)
// resolves the person mask (alpha = person).
export class Segmenter {
  static base = new URL('./vendor/selfie_segmentation/', import.meta.url).href;
  static ready = null; // the Segmenter once initialised
  static _loading = null;

  // get loads and initialises it, or rejects with 5008.
  static get() {
    if (!Segmenter._loading) {
      Segmenter._loading = Segmenter._load().catch((err) => {
        Segmenter._loading = null;
        throw err;
      });
    }
    return Segmenter._loading;
  }

  static async _load() {
    if (typeof document === 'undefined') throw new TUICallError(5008, 'background effects need a page');
    if (typeof window.SelfieSegmentation === 'undefined') {
      await new Promise((ok, bad) => {
        const el = document.createElement('script');
        el.src = Segmenter.base + 'selfie_segmentation.js';
        el.onload = ok;
        el.onerror = () => bad(new TUICallError(5008, 'background effects: the segmentation files are not installed on this server (scripts/web-deps.sh)'));
        document.head.appendChild(el);
      });
    }
    const s = new Segmenter();
    s.ss = new window.SelfieSegmentation({ locateFile: (f) => Segmenter.base + f });
    s.ss.setOptions({ modelSelection: 1 });
    s.pending = null;
    s.ss.onResults((r) => {
      const p = s.pending;
      s.pending = null;
      if (p) p.resolve(r.segmentationMask);
    });
    try {
      await s.ss.initialize();
    } catch (err) {
      throw new TUICallError(5008, 'background effects: segmentation cannot start here (' + (err && err.message ? err.message : err) + ')');
    }
    Segmenter.ready = s;
    return s;
  }

  segment(canvas) {
    if (this.pending) return Promise.reject(new Error('busy'));
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.ss.send({ image: canvas }).catch((err) => {
        this.pending = null;
        reject(err);
      });
    });
  }
}

// VideoFx runs a camera track through a canvas and gives the processed
// track: the beauty filter (0..9) draws a blurred, slightly brightened copy
// over each frame, which smooths skin and fine detail and keeps edges.
// Chromium's insertable streams (MediaStreamTrackProcessor/Generator) carry
// the frames where they exist; elsewhere a <video> is drawn on a canvas at
// the camera's frame rate and canvas.captureStream() gives the track.
export class VideoFx {
  constructor(source) {
    this.source = source;
    this.beauty = 0;
    this.blur = 0; // 0..3
    this.background = null; // an image
    this.maskReady = false;
    this._stopped = false;
    const s = source.getSettings ? source.getSettings() : {};
    this._fps = s.frameRate || 15;
    if (typeof MediaStreamTrackProcessor !== 'undefined' && typeof MediaStreamTrackGenerator !== 'undefined' && typeof OffscreenCanvas !== 'undefined') {
      this._initStreams();
    } else if (typeof document !== 'undefined') {
      this._initCanvas();
    } else {
      throw new Error('no canvas');
    }
  }

  _initStreams() {
    const proc = new MediaStreamTrackProcessor({ track: this.source });
    const gen = new MediaStreamTrackGenerator({ kind: 'video' });
    const canvas = new OffscreenCanvas(2, 2);
    const ctx = canvas.getContext('2d');
    this.track = gen;
    this._abort = new AbortController();
    proc.readable
      .pipeThrough(
        new TransformStream({
          transform: (frame, out) => {
            const w = frame.displayWidth;
            const h = frame.displayHeight;
            if (canvas.width !== w || canvas.height !== h) {
              canvas.width = w;
              canvas.height = h;
            }
            this.draw(ctx, frame, w, h);
            const next = new VideoFrame(canvas, { timestamp: frame.timestamp });
            frame.close();
            out.enqueue(next);
          },
        }),
      )
      .pipeTo(gen.writable, { signal: this._abort.signal })
      .catch(() => {});
  }

  _initCanvas() {
    const v = document.createElement('video');
    v.muted = true;
    v.playsInline = true;
    v.srcObject = new MediaStream([this.source]);
    v.play().catch(() => {});
    const canvas = document.createElement('canvas');
    const ctx = canvas.getContext('2d');
    const tick = () => {
      if (this._stopped) return;
      if (v.videoWidth) {
        if (canvas.width !== v.videoWidth || canvas.height !== v.videoHeight) {
          canvas.width = v.videoWidth;
          canvas.height = v.videoHeight;
        }
        this.draw(ctx, v, canvas.width, canvas.height);
      }
      this._timer = setTimeout(tick, 1000 / this._fps);
    };
    this._video = v;
    this.track = canvas.captureStream(this._fps).getVideoTracks()[0];
    tick();
  }

  // segment sends a small copy of the frame to the segmenter when it is
  // free; the latest mask is used for every frame until the next one.
  _segment(img) {
    if (this._segBusy || typeof document === 'undefined') return;
    const seg = Segmenter.ready;
    if (!seg) return;
    if (!this._segCanvas) {
      this._segCanvas = document.createElement('canvas');
      this._segCanvas.width = 320;
      this._segCanvas.height = 240;
      this._mask = document.createElement('canvas');
      this._mask.width = 320;
      this._mask.height = 240;
    }
    this._segCanvas.getContext('2d').drawImage(img, 0, 0, 320, 240);
    this._segBusy = true;
    seg
      .segment(this._segCanvas)
      .then((mask) => {
        // The mask's red channel is the person confidence (its alpha is
        // not): make it the alpha of our mask.
        const m = this._mask.getContext('2d', { willReadFrequently: true });
        m.globalCompositeOperation = 'copy';
        m.drawImage(mask, 0, 0, 320, 240);
        const px = m.getImageData(0, 0, 320, 240);
        const d = px.data;
        for (let i = 0; i < d.length; i += 4) {
          d[i + 3] = d[i];
          d[i] = d[i + 1] = d[i + 2] = 255;
        }
        m.putImageData(px, 0, 0);
        this.maskReady = true;
      })
      .catch(() => {})
      .finally(() => (this._segBusy = false));
  }

  // draw puts one frame on ctx with the effects.
  draw(ctx, img, w, h) {
    ctx.globalAlpha = 1;
    ctx.filter = 'none';
    const segmented = this.blur > 0 || !!this.background;
    if (segmented) this._segment(img);
    if (segmented && this.maskReady) {
      // the person (the mask's alpha) over the blurred or replaced background
      ctx.globalCompositeOperation = 'copy';
      ctx.drawImage(this._mask, 0, 0, w, h);
      ctx.globalCompositeOperation = 'source-in';
      ctx.drawImage(img, 0, 0, w, h);
      ctx.globalCompositeOperation = 'destination-over';
      if (this.background) {
        const bg = this.background;
        const s = Math.max(w / bg.naturalWidth, h / bg.naturalHeight);
        ctx.drawImage(bg, (w - bg.naturalWidth * s) / 2, (h - bg.naturalHeight * s) / 2, bg.naturalWidth * s, bg.naturalHeight * s);
      } else {
        ctx.filter = `blur(${Math.round(([0, 4, 8, 14][this.blur] * w) / 640)}px)`;
        ctx.drawImage(img, 0, 0, w, h);
        ctx.filter = 'none';
      }
      ctx.globalCompositeOperation = 'source-over';
    } else {
      ctx.drawImage(img, 0, 0, w, h);
    }
    const b = this.beauty;
    if (b > 0) {
      ctx.globalAlpha = Math.min(0.85, 0.3 + b * 0.06);
      ctx.filter = `blur(${(0.6 + b * 0.5).toFixed(2)}px) brightness(${(1 + b * 0.012).toFixed(3)})`;
      ctx.drawImage(img, 0, 0, w, h);
      ctx.globalAlpha = 1;
      ctx.filter = 'none';
    }
  }

  stop() {
    this._stopped = true;
    clearTimeout(this._timer);
    this._abort?.abort();
    this.track?.stop();
    if (this._video) this._video.srcObject = null;
  }
}

export default TUICallEngine;
