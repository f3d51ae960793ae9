// termcall Web SDK: the Web TUICallEngine API (CALL-MODEL.md §3, events of
// §4.2) over termcall's WebSocket protocol (docs/protocol.md) and the
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

const roleName = (r) => (r === 1 ? 'inviter' : r === 2 ? 'invitee' : '');
const roomNumber = (room) => {
  if (!room) return 0;
  if (room.intRoomId) return room.intRoomId;
  return room.strRoomId || 0;
};

const eventKeys = new Map(Object.entries(TUICallEvent).map(([k, v]) => [v, k]));

// callFields is the {callId, roomID, callMediaType, callRole} of a server event.
function callFields(ev, call) {
  return {
    callId: ev.callId,
    roomID: roomNumber(ev.roomId),
    callMediaType: ev.mediaType || (call ? call.mediaType : 0),
    callRole: roleName(ev.role || (call ? call.role : 0)),
  };
}

/**
 * mapEvent maps one server event (docs/protocol.md, the `data` of a
 * `{"type":"event"}` frame) to the Web TUICallEvents it raises, in order:
 * [{name: 'ON_CALL_BEGIN', event: TUICallEvent.ON_CALL_BEGIN, payload}].
 * It is pure: ctx is {self: this user's ID, call: the engine's current call
 * if it is ev's ({callId, role (1 caller, 2 callee), inviter, mediaType}) or null}.
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
        inviteData: { callType: ev.mediaType, roomID: roomNumber(ev.roomId) },
        inviteID: ev.callId,
        userData: ev.userData || '',
        callId: ev.callId,
        roomID: roomNumber(ev.roomId),
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
      // Web rule (CALL-MODEL.md §4.4): the callee gets its own ID when the
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
      if (cur && ev.userId !== cur.inviter) emit(TUICallEvent.USER_ACCEPT, { userID: ev.userId });
      emit(TUICallEvent.USER_ENTER, { userID: ev.userId });
      break;
    case 'onUserLeave':
      emit(TUICallEvent.USER_LEAVE, { userID: ev.userId });
      break;
    case 'onUserReject':
      emit(TUICallEvent.REJECT, { userID: ev.userId });
      break;
    case 'onUserNoResponse':
      emit(TUICallEvent.NO_RESP, { sponsor: cur ? cur.inviter : '', userIDList: [ev.userId] });
      break;
    case 'onUserLineBusy':
      emit(TUICallEvent.LINE_BUSY, { userID: ev.userId });
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
    // arrives as soon as the call is placed.
    await this._ensureLocal(mediaType);
    const group = !!chatGroupID || ids.length > 1;
    const reply = group
      ? await this._request('groupCall', { userIds: ids, groupId: chatGroupID || '', mediaType, params })
      : await this._request('call', { userIds: ids, mediaType, params });
    this._setCall(reply.call);
    return { callId: reply.call.callId, roomID: roomNumber(reply.call.roomId) };
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
    return this._call ? { ...this._call } : null;
  }

  _setCall(cs) {
    this._call = {
      callId: cs.callId,
      roomID: roomNumber(cs.roomId),
      groupId: cs.groupId || '',
      mediaType: cs.mediaType,
      role: cs.role,
      inviter: cs.inviter,
      status: cs.status === 2 ? CallStatus.CONNECTED : CallStatus.CALLING,
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
          roomID: roomNumber(ev.roomId),
          groupId: ev.groupId || '',
          mediaType: ev.mediaType,
          role: 2,
          inviter: ev.callerId,
          status: CallStatus.CALLING,
        };
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
        break;
      case 'onUserLeave':
        this._removeRemote(ev.userId);
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
    this._stopVolume();
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
    if (mediaType === CallMediaType.VIDEO && !this._local.getVideoTracks().length) want.video = true;
    if (!want.audio && !want.video) return this._local;
    const c = (on, id) => (on ? (id ? { deviceId: { exact: id } } : true) : false);
    const tries = [want];
    if (want.audio && want.video) tries.push({ audio: true, video: false }, { audio: false, video: true });
    let got = null;
    let firstErr = null;
    for (const w of tries) {
      try {
        got = await navigator.mediaDevices.getUserMedia({ audio: c(w.audio, this._micDeviceID), video: c(w.video, this._camDeviceID) });
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

  _pcFor(callId) {
    let e = this._pcs.get(callId);
    if (e) return e;
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
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
    await this._refreshSenders();
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    if (!this._pcs.has(callId)) return; // closed meanwhile
    const local = pc.localDescription.sdp; // with the candidates so far;
    e.answered = true; // later ones trickle (onicecandidate)
    await this._request('media', { kind: 'answer', callId, sdp: local });
    await this._sendState(callId);
  }

  async _refreshSenders() {
    for (const e of this._pcs.values()) {
      const a = this._local ? this._local.getAudioTracks()[0] || null : null;
      const v = this._local && this._camOn ? this._local.getVideoTracks()[0] || null : null;
      if (e.uplink.audio && e.uplink.audio.sender.track !== a) await e.uplink.audio.sender.replaceTrack(a);
      if (e.uplink.video && e.uplink.video.sender.track !== v) await e.uplink.video.sender.replaceTrack(v);
    }
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
    if (el && el.srcObject !== this._local) {
      el.muted = true;
      el.srcObject = this._local;
      el.play?.().catch(() => {});
    }
  }

  /** openCamera(videoViewDomID?) turns the camera on (preview in that element). */
  async openCamera(videoViewDomID) {
    if (typeof videoViewDomID === 'object' && videoViewDomID) videoViewDomID = videoViewDomID.videoViewDomID;
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
}

const TuiEv = TUICallEvent;

function randomID() {
  const a = new Uint8Array(8);
  crypto.getRandomValues(a);
  return [...a].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function videoEl(id) {
  if (!id || typeof document === 'undefined') return null;
  let el = document.getElementById(id);
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

export default TUICallEngine;
