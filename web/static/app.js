// The termcall call page: the showcase of the Web TUICallKit
// (/sdk/tuicall-kit.js). The page logs in, dials, shows the recent calls
// and the event log, and offers the Kit's settings; the <tuicall-kit>
// element on it is the whole call UI (incoming, dialing, the call, the
// floating window). See docs/web.md.
//
// URL parameters (handy for links and tests): ?user=ID logs in at once with
// the development login (when the server allows it), ?autoAccept=1 answers
// every incoming call, ?lang=en|zh-cn|ja_JP picks the language. window.termcall
// exposes {engine, kit, server, events, ringing, notice, …} to scripts and
// tests: events is every TUICallEvent the page received, in order; kit$(sel)
// finds an element in the Kit's shadow DOM.
import { TUICallKitServer, TUICallEvent, TUICallType, STATUS } from '/sdk/tuicall-kit.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const server = TUICallKitServer;
const engine = server.getTUICallEngineInstance();
const kit = $('kit');
const hooks = {
  engine,
  server,
  kit,
  kit$: (sel) => kit.shadowRoot.querySelector(sel),
  events: [],
  statuses: [], // every statusChanged {oldStatus, newStatus}
  callbacks: [], // every other Kit callback: {name, args}
  autoAccept: params.get('autoAccept') === '1',
  loggedIn: false,
  error: '',
  notice: '', // the message shown to the user (the page's or the Kit's)
  noticeKey: '',
  history: [], // the records shown
  get ringing() {
    return server.ringing;
  },
  get status() {
    return server.status;
  },
};
window.termcall = hooks;

// ---- language ----

const catalog = {
  en: {
    lang: 'Language', logout: 'Log out', 'login.title': 'Log in', 'login.user': 'User ID', 'login.btn': 'Log in',
    'login.dev': 'Development login', 'dial.title': 'Call', 'dial.users': 'User IDs', 'dial.group': 'Group ID',
    'dial.audio': 'Audio call', 'dial.video': 'Video call',
    'kit.title': 'Call UI settings', 'kit.mute': 'No ringtone (mute mode)', 'kit.banner': 'Incoming calls as a banner',
    'kit.float': 'Floating window button', 'kit.blur': 'Blur background button', 'kit.camera': 'Camera on at call start',
    'kit.layout': 'Large view', 'kit.remote': 'the other side', 'kit.local': 'me', 'kit.resolution': 'Video',
    'hist.title': 'Recent calls', 'hist.refresh': 'Refresh', 'hist.result': 'Result', 'hist.peer': 'With',
    'hist.time': 'Time', 'hist.duration': 'Duration', 'hist.delete': 'Delete', 'hist.empty': 'No calls yet.',
    'result.0': 'unknown', 'result.1': 'missed', 'result.2': 'incoming', 'result.3': 'outgoing', 'hist.live': 'going on',
    'log.title': 'Events', 'media.1': 'audio', 'media.2': 'video', group: 'Group {0}',
    'msg.badsig': 'Wrong userSig: it was not made with this server\'s secret (check it, or make a new one with termcall usersig).',
    'msg.sigold': 'This userSig has expired: make a new one (termcall usersig) and log in again.',
    'msg.sigother': 'This userSig is for another user: use the userSig made for {0}.',
    'msg.appid': 'Wrong SDKAppID: the userSig or the server is for another SDKAppID.',
    'msg.unreachable': 'Cannot reach the server.',
    'msg.nodev': 'This server has no development login (start it with --dev-login).',
    'msg.failed': '{0} failed: {1}',
  },
  'zh-cn': {
    lang: '语言', logout: '退出登录', 'login.title': '登录', 'login.user': '用户 ID', 'login.btn': '登录',
    'login.dev': '开发登录', 'dial.title': '呼叫', 'dial.users': '用户 ID', 'dial.group': '群组 ID',
    'dial.audio': '语音通话', 'dial.video': '视频通话',
    'kit.title': '通话界面设置', 'kit.mute': '静音模式（无铃声）', 'kit.banner': '来电以横幅显示', 'kit.float': '悬浮窗按钮',
    'kit.blur': '背景虚化按钮', 'kit.camera': '通话开始时打开摄像头', 'kit.layout': '大画面', 'kit.remote': '对方', 'kit.local': '我',
    'kit.resolution': '视频',
    'hist.title': '最近通话', 'hist.refresh': '刷新', 'hist.result': '结果', 'hist.peer': '对方', 'hist.time': '时间',
    'hist.duration': '时长', 'hist.delete': '删除', 'hist.empty': '暂无通话。', 'result.0': '未知', 'result.1': '未接',
    'result.2': '呼入', 'result.3': '呼出', 'hist.live': '进行中', 'log.title': '事件', 'media.1': '语音', 'media.2': '视频',
    group: '群组 {0}',
    'msg.badsig': 'userSig 错误：不是用本服务器的密钥生成的（请检查，或用 termcall usersig 重新生成）。',
    'msg.sigold': 'userSig 已过期：请重新生成（termcall usersig）后再登录。',
    'msg.sigother': '该 userSig 属于其他用户：请使用为 {0} 生成的 userSig。',
    'msg.appid': 'SDKAppID 错误：userSig 或服务器属于其他 SDKAppID。',
    'msg.unreachable': '无法连接服务器。',
    'msg.nodev': '该服务器未开启开发登录（用 --dev-login 启动）。',
    'msg.failed': '{0} 失败：{1}',
  },
  ja_JP: {
    lang: '言語', logout: 'ログアウト', 'login.title': 'ログイン', 'login.user': 'ユーザー ID', 'login.btn': 'ログイン',
    'login.dev': '開発用ログイン', 'dial.title': '発信', 'dial.users': 'ユーザー ID', 'dial.group': 'グループ ID',
    'dial.audio': '音声通話', 'dial.video': 'ビデオ通話',
    'kit.title': '通話画面の設定', 'kit.mute': '着信音なし（ミュートモード）', 'kit.banner': '着信をバナーで表示', 'kit.float': 'フローティング ウィンドウのボタン',
    'kit.blur': '背景ぼかしのボタン', 'kit.camera': '通話開始時にカメラをオン', 'kit.layout': '大きい画面', 'kit.remote': '相手', 'kit.local': '自分',
    'kit.resolution': 'ビデオ',
    'hist.title': '最近の通話', 'hist.refresh': '更新', 'hist.result': '結果', 'hist.peer': '相手', 'hist.time': '日時',
    'hist.duration': '通話時間', 'hist.delete': '削除', 'hist.empty': '通話はまだありません。', 'result.0': '不明', 'result.1': '不在',
    'result.2': '着信', 'result.3': '発信', 'hist.live': '通話中', 'log.title': 'イベント', 'media.1': '音声', 'media.2': 'ビデオ',
    group: 'グループ {0}',
    'msg.badsig': 'userSig が正しくありません：このサーバーの秘密鍵で作られていません（確認するか、termcall usersig で作り直してください）。',
    'msg.sigold': 'この userSig は期限切れです：作り直して（termcall usersig）再ログインしてください。',
    'msg.sigother': 'この userSig は別のユーザーのものです：{0} 用の userSig を使ってください。',
    'msg.appid': 'SDKAppID が違います：userSig かサーバーが別の SDKAppID のものです。',
    'msg.unreachable': 'サーバーに接続できません。',
    'msg.nodev': 'このサーバーには開発用ログインがありません（--dev-login で起動してください）。',
    'msg.failed': '{0} に失敗しました：{1}',
  },
};
export { catalog };
hooks.catalog = catalog;

function langKey(l) {
  const k = String(l || '').toLowerCase();
  if (k.startsWith('zh')) return 'zh-cn';
  if (k.startsWith('ja')) return 'ja_JP';
  if (k.startsWith('en')) return 'en';
  return '';
}

function pickLang() {
  for (const l of [params.get('lang'), localStorage.getItem('termcall.lang'), ...(navigator.languages || [])]) {
    if (langKey(l)) return langKey(l);
  }
  return 'en';
}
let lang = pickLang();

function t(key, ...args) {
  const s = (catalog[lang] && catalog[lang][key]) || catalog.en[key] || key;
  return s.replace(/\{(\d)\}/g, (_, i) => String(args[Number(i)] ?? ''));
}

function applyLang() {
  document.documentElement.lang = lang === 'zh-cn' ? 'zh-CN' : lang === 'ja_JP' ? 'ja' : lang;
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  $('lang').value = lang;
  server.setLanguage(lang);
  renderHistory();
  hooks.lang = lang;
}

// ---- messages ----

const show = (id, on) => ($(id).hidden = !on);

function log(name, payload) {
  const li = document.createElement('li');
  li.textContent = `${new Date().toLocaleTimeString()} ${name} ${payload === undefined ? '' : JSON.stringify(payload)}`;
  $('log').prepend(li);
  while ($('log').children.length > 300) $('log').lastChild.remove();
}

// notice shows a message of the page (and in hooks.notice / noticeKey for tests).
function notice(key, ...args) {
  hooks.notice = key ? t(key, ...args) : '';
  hooks.noticeKey = key || '';
  $('notice').textContent = hooks.notice;
  show('notice', !!key);
}

// The Kit shows its own messages (permission denied, kicked, no answer, …);
// the page mirrors them into hooks.
kit.addEventListener('message', (ev) => {
  hooks.notice = ev.detail.text;
  hooks.noticeKey = ev.detail.key;
  show('notice', false);
});

function fail(what, err) {
  hooks.error = `${what}: ${err.code ? err.code + ' ' : ''}${err.message || err}`;
  log('failed', hooks.error);
  const byCode = { 2001: 'msg.badsig', 2002: 'msg.sigold', 2003: 'msg.appid', 2004: 'msg.sigother', 3012: 'msg.appid', 5002: 'msg.unreachable' };
  if (byCode[err.code]) notice(byCode[err.code], $('user-id').value.trim());
  else if (err.noDevLogin) notice('msg.nodev');
  else notice('msg.failed', what, err.message || String(err));
}

// Record every event, for the log and for tests.
for (const [key, name] of Object.entries(TUICallEvent)) {
  if (name === TUICallEvent.REMOTE_STREAM || name === TUICallEvent.LOCAL_STREAM) continue;
  engine.on(name, (payload) => {
    hooks.events.push({ event: key, payload: payload === undefined ? null : JSON.parse(JSON.stringify(payload)) });
    if (name !== TUICallEvent.USER_VOICE_VOLUME && name !== TUICallEvent.ON_USER_NETWORK_QUALITY_CHANGED) log(key, payload);
  });
}

// The Kit's callbacks.
kit.statusChanged = ({ oldStatus, newStatus }) => {
  hooks.statuses.push({ oldStatus, newStatus });
  log('statusChanged', { oldStatus, newStatus });
  show('dial-view', hooks.loggedIn && newStatus === STATUS.IDLE);
};
const called = (name, ...args) => {
  hooks.callbacks.push({ name, args: args.map((a) => (a instanceof Error ? { code: a.code, message: a.message } : a ?? null)) });
  log(name, args);
};
kit.beforeCalling = (type, error) => called('beforeCalling', type, error);
kit.afterCalling = () => {
  called('afterCalling');
  loadHistory();
};
kit.kickedOut = () => {
  called('kickedOut');
  loggedOut();
};
kit.onMinimized = (oldMinimized, newMinimized) => called('onMinimized', oldMinimized, newMinimized);

// ---- login ----

async function login(userID, userSig, sdkAppID) {
  await server.init({ userID, userSig, SDKAppID: Number(sdkAppID) });
  hooks.loggedIn = true;
  notice('');
  $('me').textContent = userID;
  show('login-view', false);
  show('logout', true);
  show('history-view', true);
  show('kit-view', true);
  show('dial-view', server.status === STATUS.IDLE);
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
  show('kit-view', false);
  show('dial-view', false);
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
  await server.logout();
  loggedOut();
});
$('lang').addEventListener('change', () => {
  lang = langKey($('lang').value) || 'en';
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

// ---- calling: the Kit shows the rest ----

async function dial(type) {
  const ids = $('callees').value.split(/[\s,]+/).filter(Boolean);
  const group = $('group-id').value.trim();
  try {
    await server.calls({ userIDList: ids, type, chatGroupID: group || undefined });
  } catch (e) {
    fail('call', e);
  }
}
$('call-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  dial(TUICallType.AUDIO_CALL);
});
$('video-call-btn').addEventListener('click', () => dial(TUICallType.VIDEO_CALL));

engine.on(TUICallEvent.ON_CALL_RECEIVED, () => {
  if (hooks.autoAccept) server.accept().catch((e) => fail('accept', e));
});

// ---- the Kit's settings ----

$('opt-mute').addEventListener('change', () => server.enableMuteMode($('opt-mute').checked));
$('opt-banner').addEventListener('change', () => server.enableIncomingBanner($('opt-banner').checked));
$('opt-float').addEventListener('change', () => server.enableFloatWindow($('opt-float').checked));
$('opt-blur').addEventListener('change', () => server.enableVirtualBackground($('opt-blur').checked));
$('opt-camera').addEventListener('change', () => server.setCameraDefaultState($('opt-camera').checked));
$('opt-layout').addEventListener('change', () => server.setLayoutMode($('opt-layout').value));
$('opt-resolution').addEventListener('change', () => (kit.videoResolution = $('opt-resolution').value));

// ---- history ----

async function loadHistory() {
  if (!hooks.loggedIn) return;
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
      new Date(r.beginTime * 1000).toLocaleString(lang === 'zh-cn' ? 'zh-CN' : lang === 'ja_JP' ? 'ja' : lang),
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

applyLang();

// The development login button only when the server runs with --dev-login.
$('dev-login-btn').hidden = true;
fetch('/v1/dev/login')
  .then((r) => (r.ok ? r.json() : { devLogin: false }))
  .then((j) => ($('dev-login-btn').hidden = !j.devLogin))
  .catch(() => {});

// ?user=ID: development login at once.
if (params.get('user')) {
  $('user-id').value = params.get('user');
  devLogin(params.get('user')).catch((e) => fail('development login', e));
}
