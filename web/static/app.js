// The termcall call page (the Kit layer): log in, call, answer, talk.
// Built on the SDK at /sdk/tuicall-engine.js; see docs/web.md.
//
// URL parameters (handy for links and tests): ?user=ID logs in at once with
// the development login (when the server allows it), ?autoAccept=1 answers
// every incoming call. window.termcall exposes {engine, events} to scripts
// and tests: events is every TUICallEvent the page received, in order.
import { TUICallEngine, TUICallEvent, TUICallType } from '/sdk/tuicall-engine.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const engine = TUICallEngine.createInstance({});
const hooks = { engine, events: [], autoAccept: params.get('autoAccept') === '1', loggedIn: false, error: '' };
window.termcall = hooks;

const show = (id, on) => ($(id).hidden = !on);

function log(name, payload) {
  const li = document.createElement('li');
  li.textContent = `${new Date().toLocaleTimeString()} ${name} ${payload === undefined ? '' : JSON.stringify(payload)}`;
  $('log').prepend(li);
}

function fail(what, err) {
  hooks.error = `${what}: ${err.code ? err.code + ' ' : ''}${err.message || err}`;
  log('failed', hooks.error);
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

// ---- view state ----

let state = 'idle'; // idle | dialing | ringing | talking

function setState(s, text) {
  state = s;
  show('dial-view', s === 'idle' && hooks.loggedIn);
  show('incoming-view', s === 'ringing');
  show('call-view', s === 'dialing' || s === 'talking');
  if (text !== undefined) $('call-status').textContent = text;
  if (s === 'idle') {
    for (const t of document.querySelectorAll('#videos .tile.remote')) t.remove();
    $('local-video').srcObject = null;
    $('mic-btn').textContent = 'Mute';
    $('cam-btn').textContent = 'Camera on';
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
  $('me').textContent = `logged in as ${userID}`;
  show('login-view', false);
  show('logout', true);
  setState('idle');
}

async function devLogin(userID) {
  const r = await fetch('/v1/dev/usersig', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ userId: userID }) });
  if (r.status === 404 || r.status === 405) throw new Error('this server has no development login (start it with --dev-login)');
  const body = await r.json();
  if (!r.ok) throw new Error(body.error ? `${body.error.code} ${body.error.message}` : r.statusText);
  await login(userID, body.userSig, body.sdkAppId);
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
  hooks.loggedIn = false;
  $('me').textContent = '';
  show('logout', false);
  show('login-view', true);
  setState('idle');
});

// ---- calling ----

async function dial(type) {
  const ids = $('callees').value.split(/[\s,]+/).filter(Boolean);
  const group = $('group-id').value.trim();
  setState('dialing', `calling ${ids.join(', ')}…`);
  $('call-title').textContent = group ? `Group ${group}` : ids.join(', ');
  try {
    await engine.calls({ userIDList: ids, type, chatGroupID: group || undefined });
    if (type === TUICallType.VIDEO_CALL) await engine.openCamera('local-video');
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
  try {
    const info = engine.getCallInfo();
    await engine.accept();
    if (info && info.mediaType === TUICallType.VIDEO_CALL) await engine.openCamera('local-video');
    setState('talking', 'connecting…');
  } catch (e) {
    fail('accept', e);
  }
}
$('accept-btn').addEventListener('click', accept);
$('reject-btn').addEventListener('click', () => engine.reject().catch((e) => fail('reject', e)));
$('hangup-btn').addEventListener('click', () => engine.hangup().catch((e) => fail('hang up', e)));

let micOn = true;
$('mic-btn').addEventListener('click', async () => {
  micOn = !micOn;
  await (micOn ? engine.openMicrophone() : engine.closeMicrophone()).catch((e) => fail('microphone', e));
  $('mic-btn').textContent = micOn ? 'Mute' : 'Unmute';
});
$('cam-btn').addEventListener('click', async () => {
  const on = $('cam-btn').textContent === 'Camera on';
  await (on ? engine.openCamera('local-video') : engine.closeCamera()).catch((e) => fail('camera', e));
  $('cam-btn').textContent = on ? 'Camera off' : 'Camera on';
});

// ---- engine events ----

engine.on(TUICallEvent.ON_CALL_RECEIVED, (e) => {
  $('incoming-text').textContent = `${e.sponsor} is calling (${e.callMediaType === TUICallType.VIDEO_CALL ? 'video' : 'audio'}${e.isFromGroup ? ', group ' + e.groupID : ''})`;
  $('call-title').textContent = e.sponsor;
  micOn = true;
  setState('ringing');
  if (hooks.autoAccept) accept();
});
engine.on(TUICallEvent.ON_CALL_BEGIN, () => setState('talking', 'connected'));
engine.on(TUICallEvent.USER_ENTER, (e) => remoteTile(e.userID));
engine.on(TUICallEvent.USER_LEAVE, (e) => remoteTile(e.userID).remove());
engine.on(TUICallEvent.REMOTE_STREAM, ({ userID, stream }) => {
  if (!stream || state === 'idle') return;
  remoteTile(userID);
  engine.startRemoteView({ userID, videoViewDomID: 'remote-' + userID });
});
engine.on(TUICallEvent.USER_AUDIO_AVAILABLE, (e) => {
  const t = document.querySelector(`#videos .tile.remote[data-user="${CSS.escape(e.userID)}"]`);
  if (t) t.classList.toggle('muted', !e.isAudioAvailable);
});
engine.on(TUICallEvent.REJECT, (e) => $('call-status').textContent = `${e.userID} declined`);
engine.on(TUICallEvent.NO_RESP, (e) => $('call-status').textContent = `${e.userIDList.join(', ')} did not answer`);
engine.on(TUICallEvent.LINE_BUSY, (e) => $('call-status').textContent = `${e.userID} is busy`);
engine.on(TUICallEvent.ON_CALL_CANCELED, () => setState('idle'));
engine.on(TUICallEvent.CALLING_END, () => setState('idle'));
engine.on(TUICallEvent.CALL_TYPE_CHANGED, (e) => {
  if (e.newCallType === TUICallType.VIDEO_CALL) engine.openCamera('local-video').catch((err) => fail('camera', err));
  else engine.closeCamera();
});
engine.on(TUICallEvent.KICKED_OUT, () => {
  hooks.loggedIn = false;
  setState('idle');
  show('login-view', true);
  fail('session', new Error('logged in elsewhere: log in again'));
});

// ?user=ID: development login at once.
if (params.get('user')) {
  $('user-id').value = params.get('user');
  devLogin(params.get('user')).catch((e) => fail('development login', e));
}
