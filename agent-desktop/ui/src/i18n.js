// Every text the console shows, once per language. Placeholders are {name}; whole sentences are
// translated, never pieced together.

export const TEXTS = {
  en: {
    product: 'Kefu console',
    loginTitle: 'Log in to answer your visitors',
    email: 'Email',
    password: 'Password',
    login: 'Log in',
    loggingIn: 'Logging in…',
    badLogin: 'The email or password is not right.',
    tooManyLogins: 'Too many attempts. Wait a minute and try again.',
    loginFailed: 'Could not log in: {reason}',
    serverDown: 'The server cannot be reached. Check your connection and try again.',
    logout: 'Log out',
    sessionEnded: 'Your session has ended. Log in again.',
    status: 'My status',
    online: 'Online',
    away: 'Away',
    offline: 'Offline',
    connecting: 'Connecting…',
    connected: 'Connected',
    reconnecting: 'Connection lost. Reconnecting…',
    visitors: 'Visitors on your sites',
    visitorsCount: '{count} on the sites',
    noVisitors: 'Nobody is on your sites right now.',
    page: 'Page',
    from: 'Came from',
    direct: 'Direct visit',
    searched: 'Searched for “{keywords}”',
    device: 'Device',
    onSite: 'On site',
    pages: 'Pages',
    chat: 'Chat',
    chatting: 'Chatting',
    notChatting: 'Browsing',
    verified: 'Verified',
    unverified: 'Not verified',
    anonymous: 'Visitor {id}',
    invite: 'Invite',
    inviteText: 'Hello! Can I help you with anything?',
    conversations: 'Conversations',
    waiting: 'Waiting',
    mine: 'Mine',
    all: 'All',
    noConversations: 'No conversations here.',
    openChat: 'Open',
    accept: 'Accept',
    closeChat: 'End conversation',
    closeTab: 'Close this panel',
    message: 'Message',
    placeholder: 'Type a reply… (Enter sends, Shift+Enter for a new line)',
    send: 'Send',
    note: 'Internal note',
    typing: 'typing: {preview}',
    typingShort: 'typing…',
    queued: 'Not sent yet',
    sent: 'Sent',
    read: 'Read',
    refused: 'Not sent: {reason}',
    you: 'You',
    visitor: 'Visitor',
    system: 'Kefu',
    assigned: '{name} took the conversation',
    transferred: 'Transferred to {name}',
    invited: '{name} invited the visitor',
    requeued: 'Back in the queue: the agent left',
    closedBy: 'The conversation ended',
    rated: 'Rated {score} out of 5',
    statusWaiting: 'waiting',
    statusOpen: 'open',
    statusClosed: 'ended',
    withAgent: 'with {name}',
    started: 'Started {time}',
    justNow: 'just now',
    minutes: '{n} min',
    hours: '{n} h {m} min',
    choose: 'Choose a conversation, or invite a visitor.',
    sites: 'Sites',
    language: 'Language',
  },
  'zh-CN': {
    product: 'Kefu 客服台',
    loginTitle: '登录后接待访客',
    email: '邮箱',
    password: '密码',
    login: '登录',
    loggingIn: '正在登录…',
    badLogin: '邮箱或密码不正确。',
    tooManyLogins: '尝试次数过多，请一分钟后再试。',
    loginFailed: '无法登录：{reason}',
    serverDown: '无法连接服务器，请检查网络后重试。',
    logout: '退出登录',
    sessionEnded: '登录已失效，请重新登录。',
    status: '我的状态',
    online: '在线',
    away: '离开',
    offline: '离线',
    connecting: '正在连接…',
    connected: '已连接',
    reconnecting: '连接已断开，正在重新连接…',
    visitors: '网站上的访客',
    visitorsCount: '共 {count} 位访客',
    noVisitors: '目前网站上没有访客。',
    page: '页面',
    from: '来源',
    direct: '直接访问',
    searched: '搜索“{keywords}”',
    device: '设备',
    onSite: '停留',
    pages: '页数',
    chat: '对话',
    chatting: '对话中',
    notChatting: '浏览中',
    verified: '已验证',
    unverified: '未验证',
    anonymous: '访客 {id}',
    invite: '邀请',
    inviteText: '您好！有什么可以帮您？',
    conversations: '对话',
    waiting: '排队中',
    mine: '我的',
    all: '全部',
    noConversations: '这里没有对话。',
    openChat: '打开',
    accept: '接入',
    closeChat: '结束对话',
    closeTab: '关闭此面板',
    message: '消息',
    placeholder: '输入回复…（Enter 发送，Shift+Enter 换行）',
    send: '发送',
    note: '内部备注',
    typing: '正在输入：{preview}',
    typingShort: '正在输入…',
    queued: '尚未发送',
    sent: '已发送',
    read: '已读',
    refused: '未发送：{reason}',
    you: '我',
    visitor: '访客',
    system: 'Kefu',
    assigned: '{name} 接入了对话',
    transferred: '已转接给 {name}',
    invited: '{name} 邀请了访客',
    requeued: '客服已离开，对话重新排队',
    closedBy: '对话已结束',
    rated: '评分：{score} 分（满分 5 分）',
    statusWaiting: '排队中',
    statusOpen: '进行中',
    statusClosed: '已结束',
    withAgent: '由 {name} 接待',
    started: '开始于 {time}',
    justNow: '刚刚',
    minutes: '{n} 分钟',
    hours: '{n} 小时 {m} 分钟',
    choose: '选择一个对话，或邀请一位访客。',
    sites: '网站',
    language: '语言',
  },
};

/** @typedef {keyof typeof TEXTS.en} TextKey */
/** @typedef {'en' | 'zh-CN'} Language */

/** The language to speak: the one chosen before, else the browser's first that Kefu has. */
export function pickLanguage() {
  const chosen = localStorage.getItem('kefu.console.language');
  if (chosen === 'en' || chosen === 'zh-CN') return chosen;
  for (const wanted of navigator.languages || [navigator.language]) {
    if (wanted.toLowerCase().startsWith('zh')) return 'zh-CN';
    if (wanted.toLowerCase().startsWith('en')) return 'en';
  }
  return 'en';
}

/** @type {Language} */
let language = 'en';

/** @param {Language} lang */
export function setLanguage(lang) {
  language = lang;
  document.documentElement.lang = lang;
}

export function currentLanguage() {
  return language;
}

/**
 * The text for `key` in the current language, with its placeholders filled.
 * @param {TextKey} key @param {Record<string, string | number>} [values]
 */
export function t(key, values) {
  const text = TEXTS[language][key] || TEXTS.en[key];
  return values ? text.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? '')) : text;
}
