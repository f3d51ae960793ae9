// The termcall call page (the Kit layer): log in, call, answer, talk, see
// recent calls. Built on the SDK at /sdk/tuicall-engine.js; see docs/web.md.
//
// URL parameters (handy for links and tests): ?user=ID logs in at once with
// the development login (when the server allows it), ?autoAccept=1 answers
// every incoming call, ?lang=en|zh-cn|ja picks the language. window.termcall
// exposes {engine, events, ringing, notice, …} to scripts and tests: events is
// every TUICallEvent the page received, in order.
import { TUICallEngine, TUICallEvent, TUICallType } from '/sdk/tuicall-engine.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const engine = TUICallEngine.createInstance({});
const hooks = {
  engine,
  events: [],
  autoAccept: params.get('autoAccept') === '1',
  loggedIn: false,
  error: '',
  notice: '', // the message shown to the user (denied devices, userSig, kicked)
  ringing: false, // the ringtone plays
  history: [], // the records shown
};
window.termcall = hooks;

// ---- language ----

const catalog = {
  en: {
    lang: 'Language', logout: 'Log out', 'login.title': 'Log in', 'login.user': 'User ID', 'login.btn': 'Log in',
    'login.dev': 'Development login', 'dial.title': 'Call', 'dial.users': 'User IDs', 'dial.group': 'Group ID',
    'dial.audio': 'Audio call', 'dial.video': 'Video call', 'in.title': 'Incoming call', 'in.accept': 'Accept',
    'in.reject': 'Reject', me: 'me', mute: 'Mute', unmute: 'Unmute', 'cam.on': 'Camera on', 'cam.off': 'Camera off',
    hangup: 'Hang up', 'dev.title': 'Devices', 'dev.mic': 'Microphone', 'dev.cam': 'Camera', 'dev.speaker': 'Speaker',
    'hist.title': 'Recent calls', 'hist.refresh': 'Refresh', 'hist.result': 'Result', 'hist.peer': 'With',
    'hist.time': 'Time', 'hist.duration': 'Duration', 'hist.delete': 'Delete', 'hist.empty': 'No calls yet.',
    'result.0': 'unknown', 'result.1': 'missed', 'result.2': 'incoming', 'result.3': 'outgoing', 'hist.live': 'going on',
    'log.title': 'Events', 'media.1': 'audio', 'media.2': 'video', 'in.calling': 'is calling ({0})', 'in.group': 'group {0}',
    'st.calling': 'calling {0}…', 'st.connecting': 'connecting…', 'st.connected': 'connected', 'st.declined': '{0} declined',
    'st.noresp': '{0} did not answer', 'st.busy': '{0} is busy', 'group': 'Group {0}',
    'msg.kicked': 'Logged in elsewhere: log in again.',
    'msg.sigexpired': 'Your userSig expired: calls go on; log in again with a new userSig before placing calls.',
    'msg.badsig': 'Wrong userSig: it was not made with this server\'s secret (check it, or make a new one with termcall usersig).',
    'msg.sigold': 'This userSig has expired: make a new one (termcall usersig) and log in again.',
    'msg.sigother': 'This userSig is for another user: use the userSig made for {0}.',
    'msg.appid': 'Wrong SDKAppID: the userSig or the server is for another SDKAppID.',
    'msg.unreachable': 'Cannot reach the server.',
    'msg.nodev': 'This server has no development login (start it with --dev-login).',
    'msg.micdenied': 'Microphone not allowed: the call goes on listen-only (you hear the others; they do not hear you).',
    'msg.camdenied': 'Camera not allowed: the call goes on with audio only.',
    'msg.nomic': 'No microphone could be opened: the call goes on listen-only.',
    'msg.nocam': 'No camera could be opened: the call goes on with audio only.',
    'msg.lost': 'Connection to the server lost.',
    'msg.failed': '{0} failed: {1}',
  },
  'zh-cn': {
    lang: '语言', logout: '退出登录', 'login.title': '登录', 'login.user': '用户 ID', 'login.btn': '登录',
    'login.dev': '开发登录', 'dial.title': '呼叫', 'dial.users': '用户 ID', 'dial.group': '群组 ID',
    'dial.audio': '语音通话', 'dial.video': '视频通话', 'in.title': '来电', 'in.accept': '接听', 'in.reject': '拒绝',
    me: '我', mute: '静音', unmute: '取消静音', 'cam.on': '打开摄像头', 'cam.off': '关闭摄像头', hangup: '挂断',
    'dev.title': '设备', 'dev.mic': '麦克风', 'dev.cam': '摄像头', 'dev.speaker': '扬声器', 'hist.title': '最近通话',
    'hist.refresh': '刷新', 'hist.result': '结果', 'hist.peer': '对方', 'hist.time': '时间', 'hist.duration': '时长',
    'hist.delete': '删除', 'hist.empty': '暂无通话。', 'result.0': '未知', 'result.1': '未接', 'result.2': '呼入',
    'result.3': '呼出', 'hist.live': '进行中', 'log.title': '事件', 'media.1': '语音', 'media.2': '视频',
    'in.calling': '正在呼叫你（{0}）', 'in.group': '群组 {0}', 'st.calling': '正在呼叫 {0}…', 'st.connecting': '正在连接…',
    'st.connected': '已接通', 'st.declined': '{0} 已拒绝', 'st.noresp': '{0} 无应答', 'st.busy': '{0} 忙线中',
    group: '群组 {0}',
    'msg.kicked': '已在其他设备登录：请重新登录。',
    'msg.sigexpired': 'userSig 已过期：通话继续；请用新的 userSig 重新登录后才能发起通话。',
    'msg.badsig': 'userSig 错误：不是用本服务器的密钥生成的（请检查，或用 termcall usersig 重新生成）。',
    'msg.sigold': 'userSig 已过期：请重新生成（termcall usersig）后再登录。',
    'msg.sigother': '该 userSig 属于其他用户：请使用为 {0} 生成的 userSig。',
    'msg.appid': 'SDKAppID 错误：userSig 或服务器属于其他 SDKAppID。',
    'msg.unreachable': '无法连接服务器。',
    'msg.nodev': '该服务器未开启开发登录（用 --dev-login 启动）。',
    'msg.micdenied': '麦克风未获授权：通话继续，仅收听（你能听到对方，对方听不到你）。',
    'msg.camdenied': '摄像头未获授权：通话继续，仅语音。',
    'msg.nomic': '无法打开麦克风：通话继续，仅收听。',
    'msg.nocam': '无法打开摄像头：通话继续，仅语音。',
    'msg.lost': '与服务器的连接已断开。',
    'msg.failed': '{0} 失败：{1}',
  },
  ja: {
    lang: '言語', logout: 'ログアウト', 'login.title': 'ログイン', 'login.user': 'ユーザー ID', 'login.btn': 'ログイン',
    'login.dev': '開発用ログイン', 'dial.title': '発信', 'dial.users': 'ユーザー ID', 'dial.group': 'グループ ID',
    'dial.audio': '音声通話', 'dial.video': 'ビデオ通話', 'in.title': '着信', 'in.accept': '応答', 'in.reject': '拒否',
    me: '自分', mute: 'ミュート', unmute: 'ミュート解除', 'cam.on': 'カメラ オン', 'cam.off': 'カメラ オフ', hangup: '切断',
    'dev.title': 'デバイス', 'dev.mic': 'マイク', 'dev.cam': 'カメラ', 'dev.speaker': 'スピーカー', 'hist.title': '最近の通話',
    'hist.refresh': '更新', 'hist.result': '結果', 'hist.peer': '相手', 'hist.time': '日時', 'hist.duration': '通話時間',
    'hist.delete': '削除', 'hist.empty': '通話はまだありません。', 'result.0': '不明', 'result.1': '不在', 'result.2': '着信',
    'result.3': '発信', 'hist.live': '通話中', 'log.title': 'イベント', 'media.1': '音声', 'media.2': 'ビデオ',
    'in.calling': 'から着信（{0}）', 'in.group': 'グループ {0}', 'st.calling': '{0} に発信中…', 'st.connecting': '接続中…',
    'st.connected': '通話中', 'st.declined': '{0} が拒否しました', 'st.noresp': '{0} が応答しませんでした', 'st.busy': '{0} は話し中です',
    group: 'グループ {0}',
    'msg.kicked': '別の端末でログインされました：再ログインしてください。',
    'msg.sigexpired': 'userSig の期限が切れました：通話は続きます。発信するには新しい userSig で再ログインしてください。',
    'msg.badsig': 'userSig が正しくありません：このサーバーの秘密鍵で作られていません（確認するか、termcall usersig で作り直してください）。',
    'msg.sigold': 'この userSig は期限切れです：作り直して（termcall usersig）再ログインしてください。',
    'msg.sigother': 'この userSig は別のユーザーのものです：{0} 用の userSig を使ってください。',
    'msg.appid': 'SDKAppID が違います：userSig かサーバーが別の SDKAppID のものです。',
    'msg.unreachable': 'サーバーに接続できません。',
    'msg.nodev': 'このサーバーには開発用ログインがありません（--dev-login で起動してください）。',
    'msg.micdenied': 'マイクが許可されていません：通話は受話のみで続きます（相手の声は聞こえますが、相手には聞こえません）。',
    'msg.camdenied': 'カメラが許可されていません：通話は音声のみで続きます。',
    'msg.nomic': 'マイクを開けません：通話は受話のみで続きます。',
    'msg.nocam': 'カメラを開けません：通話は音声のみで続きます。',
    'msg.lost': 'サーバーとの接続が切れました。',
    'msg.failed': '{0} に失敗しました：{1}',
  },
};
export { catalog };
hooks.catalog = catalog;

function pickLang() {
  const want = [params.get('lang'), localStorage.getItem('termcall.lang'), ...(navigator.languages || [])];
  for (const l of want) {
    if (!l) continue;
    const k = l.toLowerCase();
    if (catalog[k]) return k;
    if (k.startsWith('zh')) return 'zh-cn';
    if (k.startsWith('ja')) return 'ja';
    if (k.startsWith('en')) return 'en';
  }
  return 'en';
}
let lang = pickLang();

function t(key, ...args) {
  const s = (catalog[lang] && catalog[lang][key]) || catalog.en[key] || key;
  return s.replace(/\{(\d)\}/g, (_, i) => String(args[Number(i)] ?? ''));
}

function applyLang() {
  document.documentElement.lang = lang === 'zh-cn' ? 'zh-CN' : lang;
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  $('lang').value = lang;
  $('mic-btn').textContent = t(micOn ? 'mute' : 'unmute');
  $('cam-btn').textContent = t(camOn ? 'cam.off' : 'cam.on');
  renderHistory();
  hooks.lang = lang;
}

// ---- messages ----

const show = (id, on) => ($(id).hidden = !on);

function log(name, payload) {
  const li = document.createElement('li');
  li.textContent = `${new Date().toLocaleTimeString()} ${name} ${payload === undefined ? '' : JSON.stringify(payload)}`;
  $('log').prepend(li);
}

// notice shows a message to the user (and in hooks.notice / noticeKey for tests).
function notice(key, ...args) {
  hooks.notice = key ? t(key, ...args) : '';
  hooks.noticeKey = key || '';
  $('notice').textContent = hooks.notice;
  show('notice', !!key);
}

function fail(what, err) {
  hooks.error = `${what}: ${err.code ? err.code + ' ' : ''}${err.message || err}`;
  log('failed', hooks.error);
  const byCode = { 2001: 'msg.badsig', 2002: 'msg.sigold', 2003: 'msg.appid', 2004: 'msg.sigother', 3012: 'msg.appid', 5002: 'msg.unreachable' };
  if (byCode[err.code]) notice(byCode[err.code], $('user-id').value.trim());
  else if (err.noDevLogin) notice('msg.nodev');
  else {
    hooks.notice = t('msg.failed', what, err.message || String(err));
    hooks.noticeKey = 'msg.failed';
    $('notice').textContent = hooks.notice;
    show('notice', true);
  }
}

// Record every event, for the log and for tests.
for (const [key, name] of Object.entries(TUICallEvent)) {
  engine.on(name, (payload) => {
    if (name !== TUICallEvent.REMOTE_STREAM && name !== TUICallEvent.LOCAL_STREAM) {
      hooks.events.push({ event: key, payload: payload === undefined ? null : JSON.parse(JSON.stringify(payload)) });
    }
    if (name !== TUICallEvent.USER_VOICE_VOLUME && name !== TUICallEvent.REMOTE_STREAM && name !== TUICallEvent.LOCAL_STREAM) log(key, payload);
  });
}

// ---- ringtone: 440 + 480 Hz, 2 s on, 4 s off (WebAudio) ----

let ring = null;

function startRing() {
  if (ring) return;
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
    // Schedule the cadence a minute ahead and refresh it; the incoming call
    // rings for at most the call's timeout (≤ 600 s).
    const schedule = (from) => {
      for (let s = 0; s < 60; s += 6) {
        gain.gain.setValueAtTime(0.15, from + s);
        gain.gain.setValueAtTime(0, from + s + 2);
      }
    };
    schedule(ctx.currentTime);
    let next = ctx.currentTime + 60;
    const timer = setInterval(() => {
      if (ctx.currentTime > next - 10) {
        schedule(next);
        next += 60;
      }
    }, 5000);
    ring = { ctx, timer };
    ctx.resume?.().catch(() => {});
  } catch {
    ring = { ctx: null, timer: 0 }; // no WebAudio: ring silently
  }
  hooks.ringing = true;
}

function stopRing() {
  if (ring) {
    clearInterval(ring.timer);
    ring.ctx?.close().catch(() => {});
    ring = null;
  }
  hooks.ringing = false;
}

// ---- view state ----

let state = 'idle'; // idle | dialing | ringing | talking
let micOn = true;
let camOn = false;

function setState(s, text) {
  state = s;
  hooks.state = s;
  show('dial-view', s === 'idle' && hooks.loggedIn);
  show('incoming-view', s === 'ringing');
  show('call-view', s === 'dialing' || s === 'talking');
  if (s !== 'ringing') stopRing();
  if (text !== undefined) $('call-status').textContent = text;
  if (s === 'idle') {
    for (const el of document.querySelectorAll('#videos .tile.remote')) el.remove();
    $('local-video').srcObject = null;
    micOn = true;
    camOn = false;
    $('mic-btn').textContent = t('mute');
    $('cam-btn').textContent = t('cam.on');
  }
}

function remoteTile(userID) {
  let tile = document.querySelector(`#videos .tile.remote[data-user="${CSS.escape(userID)}"]`);
  if (!tile) {
    tile = document.createElement('div');
    tile.className = 'tile remote';
    tile.dataset.user = userID;
    tile.id = 'remote-' + userID;
    const label = document.createElement('span');
    label.textContent = userID;
    tile.appendChild(label);
    $('videos').appendChild(tile);
  }
  return tile;
}

// ---- login ----

async function login(userID, userSig, sdkAppID) {
  await engine.login({ userID, userSig, SDKAppID: Number(sdkAppID) });
  hooks.loggedIn = true;
  notice('');
  $('me').textContent = userID;
  show('login-view', false);
  show('logout', true);
  show('history-view', true);
  setState('idle');
  refreshDevices();
  loadHistory();
}

async function devLogin(userID) {
  const r = await fetch('/v1/dev/usersig', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ userId: userID }) });
  if (r.status === 404 || r.status === 405) throw Object.assign(new Error('no development login'), { noDevLogin: true });
  const body = await r.json();
  if (!r.ok) throw Object.assign(new Error(body.error ? body.error.message : r.statusText), { code: body.error?.code });
  await login(userID, body.userSig, body.sdkAppId);
}

function loggedOut() {
  hooks.loggedIn = false;
  $('me').textContent = '';
  show('logout', false);
  show('login-view', true);
  show('history-view', false);
  setState('idle');
}

$('login-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  login($('user-id').value.trim(), $('user-sig').value.trim(), $('sdkappid').value.trim()).catch((e) => fail('login', e));
});
$('dev-login-btn').addEventListener('click', () => {
  const id = $('user-id').value.trim();
  if (!id) return fail('login', new Error('enter a user ID'));
  devLogin(id).catch((e) => fail('development login', e));
});
$('logout').addEventListener('click', async () => {
  await engine.logout();
  loggedOut();
});
$('lang').addEventListener('change', () => {
  lang = $('lang').value;
  localStorage.setItem('termcall.lang', lang);
  applyLang();
});

// Closing the tab (or navigating away) hangs up and logs out at once, so the
// others see the call end now, not after the server's grace period.
function leave() {
  if (hooks.loggedIn) engine.leaveNow();
  hooks.loggedIn = false;
}
window.addEventListener('pagehide', leave);
window.addEventListener('beforeunload', leave);

// ---- calling ----

async function dial(type) {
  const ids = $('callees').value.split(/[\s,]+/).filter(Boolean);
  const group = $('group-id').value.trim();
  setState('dialing', t('st.calling', ids.join(', ')));
  $('call-title').textContent = group ? t('group', group) : ids.join(', ');
  try {
    await engine.calls({ userIDList: ids, type, chatGroupID: group || undefined });
    if (type === TUICallType.VIDEO_CALL) await openCam();
  } catch (e) {
    setState('idle');
    fail('call', e);
  }
}
$('call-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  dial(TUICallType.AUDIO_CALL);
});
$('video-call-btn').addEventListener('click', () => dial(TUICallType.VIDEO_CALL));

async function accept() {
  stopRing();
  try {
    const info = engine.getCallInfo();
    await engine.accept();
    if (info && info.mediaType === TUICallType.VIDEO_CALL) await openCam();
    setState('talking', t('st.connecting'));
  } catch (e) {
    fail('accept', e);
  }
}
$('accept-btn').addEventListener('click', accept);
$('reject-btn').addEventListener('click', () => {
  stopRing();
  engine.reject().catch((e) => fail('reject', e));
});
$('hangup-btn').addEventListener('click', () => engine.hangup().catch((e) => fail('hang up', e)));

async function openCam() {
  await engine.openCamera('local-video');
  camOn = !!engine.getLocalStream()?.getVideoTracks().length;
  $('cam-btn').textContent = t(camOn ? 'cam.off' : 'cam.on');
}

$('mic-btn').addEventListener('click', async () => {
  micOn = !micOn;
  await (micOn ? engine.openMicrophone() : engine.closeMicrophone()).catch((e) => fail('microphone', e));
  $('mic-btn').textContent = t(micOn ? 'mute' : 'unmute');
});
$('cam-btn').addEventListener('click', async () => {
  if (camOn) {
    await engine.closeCamera().catch((e) => fail('camera', e));
    camOn = false;
    $('cam-btn').textContent = t('cam.on');
  } else {
    await openCam().catch((e) => fail('camera', e));
  }
});

// ---- devices ----

async function refreshDevices() {
  let lists;
  try {
    lists = { microphone: await engine.getDeviceList('microphone'), camera: await engine.getDeviceList('camera'), speaker: await engine.getDeviceList('speaker') };
  } catch {
    return;
  }
  const local = engine.getLocalStream();
  const cur = {
    microphone: local?.getAudioTracks()[0]?.getSettings().deviceId,
    camera: local?.getVideoTracks()[0]?.getSettings().deviceId,
  };
  for (const [type, id] of [['microphone', 'mic-select'], ['camera', 'cam-select'], ['speaker', 'speaker-select']]) {
    const sel = $(id);
    const keep = cur[type] || sel.value;
    sel.replaceChildren();
    lists[type].forEach((d, i) => {
      const o = document.createElement('option');
      o.value = d.deviceId;
      o.textContent = d.label || `${t('dev.' + (type === 'microphone' ? 'mic' : type === 'camera' ? 'cam' : 'speaker'))} ${i + 1}`;
      sel.appendChild(o);
    });
    if (keep) sel.value = keep;
  }
  hooks.devices = lists;
}
for (const [id, type] of [['mic-select', 'microphone'], ['cam-select', 'camera'], ['speaker-select', 'speaker']]) {
  $(id).addEventListener('change', () => engine.switchDevice({ deviceType: type, deviceId: $(id).value }).catch((e) => fail('device', e)));
}
engine.on(TUICallEvent.DEVICED_UPDATED, () => refreshDevices());
engine.on(TUICallEvent.LOCAL_STREAM, () => refreshDevices());

// ---- history ----

async function loadHistory() {
  try {
    hooks.history = await engine.queryRecentCalls({ limit: 50 });
  } catch (e) {
    log('history', e.message);
    return;
  }
  renderHistory();
}

function fmtDuration(s) {
  const m = Math.floor(s / 60);
  return `${m}:${String(s % 60).padStart(2, '0')}`;
}

function renderHistory() {
  const body = $('history').tBodies[0];
  body.replaceChildren();
  if (!hooks.history.length) {
    const tr = body.insertRow();
    const td = tr.insertCell();
    td.colSpan = 5;
    td.textContent = t('hist.empty');
    return;
  }
  const me = engine.userID;
  for (const r of hooks.history) {
    const tr = body.insertRow();
    tr.dataset.callId = r.callId;
    tr.className = 'result-' + r.result;
    const peers = r.groupId ? t('group', r.groupId) : r.inviter === me ? (r.inviteList || []).join(', ') : r.inviter;
    const cells = [
      `${t('result.' + (r.result || 0))} (${t('media.' + r.mediaType)})`,
      peers,
      new Date(r.beginTime * 1000).toLocaleString(lang === 'zh-cn' ? 'zh-CN' : lang),
      r.live ? t('hist.live') : fmtDuration(r.totalTime || 0),
    ];
    for (const c of cells) tr.insertCell().textContent = c;
    const del = document.createElement('button');
    del.className = 'delete';
    del.textContent = t('hist.delete');
    del.addEventListener('click', async () => {
      try {
        await engine.deleteRecordCalls({ callIds: [r.callId] });
      } catch (e) {
        return fail('delete', e);
      }
      hooks.history = hooks.history.filter((x) => x.callId !== r.callId);
      renderHistory();
    });
    tr.insertCell().appendChild(del);
  }
}
$('history-refresh').addEventListener('click', loadHistory);

// ---- engine events ----

engine.on(TUICallEvent.ON_CALL_RECEIVED, (e) => {
  const media = t('media.' + e.callMediaType) + (e.isFromGroup ? ', ' + t('in.group', e.groupID) : '');
  $('incoming-caller').textContent = e.sponsor;
  $('incoming-text').textContent = t('in.calling', media);
  $('call-title').textContent = e.sponsor;
  micOn = true;
  setState('ringing');
  startRing();
  if (hooks.autoAccept) accept();
});
engine.on(TUICallEvent.ON_CALL_BEGIN, () => {
  setState('talking', t('st.connected'));
});
engine.on(TUICallEvent.USER_ENTER, (e) => remoteTile(e.userID));
engine.on(TUICallEvent.USER_LEAVE, (e) => remoteTile(e.userID).remove());
engine.on(TUICallEvent.REMOTE_STREAM, ({ userID, stream }) => {
  if (!stream || !engine.getCallInfo()) return;
  remoteTile(userID);
  engine.startRemoteView({ userID, videoViewDomID: 'remote-' + userID });
});
engine.on(TUICallEvent.USER_AUDIO_AVAILABLE, (e) => {
  const el = document.querySelector(`#videos .tile.remote[data-user="${CSS.escape(e.userID)}"]`);
  if (el) el.classList.toggle('muted', !e.isAudioAvailable);
});
engine.on(TUICallEvent.REJECT, (e) => ($('call-status').textContent = t('st.declined', e.userID)));
engine.on(TUICallEvent.NO_RESP, (e) => ($('call-status').textContent = t('st.noresp', e.userIDList.join(', '))));
engine.on(TUICallEvent.LINE_BUSY, (e) => ($('call-status').textContent = t('st.busy', e.userID)));
engine.on(TUICallEvent.ON_CALL_CANCELED, () => {
  setState('idle');
  loadHistory();
});
engine.on(TUICallEvent.CALLING_END, () => {
  setState('idle');
  loadHistory();
});
engine.on(TUICallEvent.CALL_TYPE_CHANGED, (e) => {
  if (e.newCallType === TUICallType.VIDEO_CALL) openCam().catch((err) => fail('camera', err));
  else engine.closeCamera().then(() => ((camOn = false), ($('cam-btn').textContent = t('cam.on'))));
});
engine.on(TUICallEvent.KICKED_OUT, () => {
  loggedOut();
  notice('msg.kicked');
});
engine.on(TUICallEvent.ERROR, (e) => {
  if (e.code === 2002) notice('msg.sigexpired');
  else if (e.code === 5004) notice('msg.lost');
  else if (e.code === 5007) {
    const mic = (e.devices || []).includes('microphone');
    notice(e.denied ? (mic ? 'msg.micdenied' : 'msg.camdenied') : mic ? 'msg.nomic' : 'msg.nocam');
    if (!mic) {
      camOn = false;
      $('cam-btn').textContent = t('cam.on');
    }
  }
});

applyLang();

// ?user=ID: development login at once.
if (params.get('user')) {
  $('user-id').value = params.get('user');
  devLogin(params.get('user')).catch((e) => fail('development login', e));
}
