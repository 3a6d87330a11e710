// UI strings for the lab page. Every string the page shows comes from these catalogs via t().
// English is the fallback: a key missing from another catalog shows the English text.

const catalogs = {
  en: {
    'app.title': 'Redis Replication Lab',
    'app.loading': 'Loading the engine…',
    'app.noscript': 'This lab runs a Redis engine compiled to WebAssembly and needs JavaScript.',
    'controls.label': 'Simulation controls',
    'controls.play': 'Play',
    'controls.pause': 'Pause',
    'controls.playAria': 'Play: let virtual time run',
    'controls.pauseAria': 'Pause: stop virtual time',
    'controls.speed': 'Speed',
    'controls.clock': 'Virtual time',
    'controls.clockValue': '{seconds} s',
    'controls.language': 'Language',
    'view.title': 'Master and replica',
    'view.desc': 'Each box is a Redis server. Messages in flight move along the link from sender to receiver. A crashed server is greyed out with a "down" badge, a paused one has a "paused" badge, and a partitioned link is drawn dashed in red.',
    'view.legend': 'Message kinds:',
    'node.address': 'address',
    'node.role': 'role',
    'node.replid': 'replid',
    'node.masterReplOffset': 'master_repl_offset',
    'node.replState': 'repl state',
    'node.link': 'link',
    'node.slaveReplOffset': 'slave_repl_offset',
    'node.dbsize': 'keys',
    'node.replicas': 'connected_slaves',
    'node.slave0': 'slave0',
    'node.backlog': 'repl_backlog_histlen',
    'node.linkUp': 'up',
    'node.linkDown': 'down',
    'transfer.replica': 'RDB {read}/{total} bytes',
    'transfer.replicaUnknown': 'RDB {read} bytes (size not known yet)',
    'transfer.child': 'RDB snapshot → {target}: {produced}/{total} bytes',
    'transfer.childUnknown': 'RDB snapshot → {target}: {produced} bytes',
    'kind.handshake': 'handshake',
    'kind.reply': 'reply',
    'kind.rdb': 'RDB',
    'kind.stream': 'stream',
    'kind.ping': 'ping',
    'kind.ack': 'ack',
    'kind.keepalive': 'keepalive',
    'console.heading': '{name} console — {addr} ({role})',
    'console.inputLabel': 'Command for {name} at {addr}',
    'console.outputLabel': 'Output of {name}',
    'console.placeholder': 'Command, e.g. SET k v',
    'console.hint': 'Up and down arrows browse the history.',
    'console.notConnected': 'not connected>',
    'events.title': 'Event log',
    'events.label': 'Replication events, newest last',
    'events.node': '{name}',
    'events.kind.log': 'log',
    'events.kind.state': 'state',
    'events.kind.conn': 'conn',
    'events.kind.net': 'net',
    'faults.title': 'Faults',
    'faults.hint': 'Break things and watch Redis recover. Crash loses memory but keeps the saved RDB; Pause stops the process (SIGSTOP) for 5 virtual seconds; Cut resets the TCP connections; Partition holds bytes back until Heal.',
    'faults.nodeGroup': '{name} ({addr})',
    'faults.crash': 'Crash {name}',
    'faults.restart': 'Restart {name}',
    'faults.pause': 'Pause {name} for {seconds} s',
    'faults.paused': '{name} is paused…',
    'faults.linkGroup': 'Link {link}',
    'faults.cut': 'Cut connection',
    'faults.partition': 'Partition',
    'faults.heal': 'Heal partition',
    'faults.announce.crashed': '{name} crashed.',
    'faults.announce.restarted': '{name} restarted.',
    'faults.announce.paused': '{name} paused for {seconds} virtual seconds.',
    'faults.announce.cut': 'Connections between {link} cut.',
    'faults.announce.partitioned': 'Network partitioned: {link}.',
    'faults.announce.healed': 'Partition healed.',
    'view.down': 'down',
    'view.paused': 'paused',
    'view.partitioned': 'partitioned',
    'events.kind.fault': 'fault',
    'error.title': 'The engine stopped with an error:',
    'error.dismiss': 'Dismiss',
    'error.reload': 'Reload page',
    'error.loadFailed': 'Could not load the engine ({message}). Was the wasm package built into www/pkg/?',
    'error.unknown': 'Unknown error',
    'error.badLogTitle': 'The shared link could not be opened:',
    'error.badLog': '{message}. The default lab is shown instead.',
    'timeline.title': 'Time travel and sharing',
    'timeline.label': 'Time travel',
    'timeline.value': '{now} s / {horizon} s',
    'timeline.valueText': '{now} seconds of {horizon}',
    'timeline.keys': 'Arrow keys move a quarter of a second, Page Up and Page Down five seconds, Home and End go to the start and to the end.',
    'timeline.past': 'Looking at the past: a new action will replace what came after.',
    'console.seek': '— jumped to {seconds} s —',
    'console.replayed': '— shared run replayed up to {seconds} s —',
    'share.button': 'Copy link',
    'share.copied': 'Link copied to the clipboard.',
    'share.manual': 'Copy the link below to share this run.',
    'share.urlLabel': 'Link to this run:',
    'rdb.group': 'dump.rdb of {name}',
    'rdb.export': 'Export dump.rdb',
    'rdb.exportLabel': 'Export dump.rdb: download the dataset of {name} as {file}',
    'rdb.exportDown': '{name} is down: it has no dataset in memory to export.',
    'rdb.exported': 'Saved {file} ({bytes} bytes).',
    'rdb.import': 'Import dump.rdb…',
    'rdb.importLabel': 'Import dump.rdb: load a file into {name} (it restarts from it)',
    'rdb.dropHint': 'or drop a .rdb file on the node or its console',
    'rdb.loaded': 'Loaded {bytes} bytes into {name}',
    'rdb.failed': '{file} was not loaded into {name}, which is unchanged. {message}',
    'rdb.readFailed': '{file} could not be read: {message}',
    'rdb.tooLarge': '{file} has {bytes} bytes; the lab loads files of at most {max} bytes.',
    'rdb.noFile': 'Drop a file (a dump.rdb), not text or a link.',
    'sentinels.title': 'Sentinels',
    'sentinels.hint': 'Promotion is Sentinel\'s doing: replicas only keep reconnecting to their configured master. Each sentinel pings every node once a second, marks the master down after {downAfter} s without a valid reply (+sdown, down-after-milliseconds; 30 s by default), and when a quorum agrees (+odown) a leader elected by the sentinels promotes the best replica and re-points the others; a split vote is retried after twice the failover-timeout ({failoverTimeout} s here, 3 min by default). Add at least two, then crash or partition the master. Simplified: the sentinels know each other from the start (no discovery through pub/sub hello messages), and SLAVEOF goes without CONFIG REWRITE and CLIENT KILL.',
    'sentinels.add': 'Add sentinel',
    'sentinels.none': 'No sentinel yet: nobody will fail over if the master dies.',
    'sentinels.heading': '{name} ({addr})',
    'sentinels.master': 'master',
    'sentinels.status': 'master state',
    'sentinels.ok': 'ok',
    'sentinels.sdown': 'subjectively down (+sdown)',
    'sentinels.odown': 'objectively down (+odown)',
    'sentinels.down': 'down',
    'sentinels.failover': 'failover',
    'sentinels.epoch': 'epoch',
    'sentinels.epochValue': 'current {current}, config {config}',
    'sentinels.replicas': 'replicas',
    'sentinels.peers': 'other sentinels',
    'sentinels.configLabel': 'quorum',
    'sentinels.config': '{quorum}',
    'sentinels.inFlight': 'messages in flight',
    'sentinels.events': 'Events of {name}',
    'sentinels.announce.added': '{name} added, monitoring {master}.',
    'events.kind.sentinel': 'sentinel',
  },
  'zh-CN': {
    'app.title': 'Redis 主从复制实验室',
    'app.loading': '正在加载引擎…',
    'app.noscript': '本实验室运行编译为 WebAssembly 的 Redis 引擎，需要启用 JavaScript。',
    'controls.label': '模拟控制',
    'controls.play': '播放',
    'controls.pause': '暂停',
    'controls.playAria': '播放：让虚拟时间继续流逝',
    'controls.pauseAria': '暂停：停止虚拟时间',
    'controls.speed': '速度',
    'controls.clock': '虚拟时间',
    'controls.clockValue': '{seconds} 秒',
    'controls.language': '语言',
    'view.title': '主节点与从节点',
    'view.desc': '每个方框是一个 Redis 服务器。传输中的消息沿链路从发送方移动到接收方。崩溃的服务器显示为灰色并带有“宕机”标记，暂停的服务器带有“已暂停”标记，被分区的链路显示为红色虚线。',
    'view.legend': '消息类型：',
    'node.address': '地址',
    'node.role': '角色',
    'node.replid': 'replid',
    'node.masterReplOffset': 'master_repl_offset',
    'node.replState': '复制状态',
    'node.link': '链路',
    'node.slaveReplOffset': 'slave_repl_offset',
    'node.dbsize': '键数量',
    'node.replicas': 'connected_slaves',
    'node.slave0': 'slave0',
    'node.backlog': 'repl_backlog_histlen',
    'node.linkUp': 'up（正常）',
    'node.linkDown': 'down（断开）',
    'transfer.replica': 'RDB {read}/{total} 字节',
    'transfer.replicaUnknown': 'RDB {read} 字节（总大小未知）',
    'transfer.child': 'RDB 快照 → {target}：{produced}/{total} 字节',
    'transfer.childUnknown': 'RDB 快照 → {target}：{produced} 字节',
    'kind.handshake': '握手',
    'kind.reply': '回复',
    'kind.rdb': 'RDB',
    'kind.stream': '命令流',
    'kind.ping': 'ping',
    'kind.ack': 'ack',
    'kind.keepalive': '保活',
    'console.heading': '{name} 控制台 — {addr}（{role}）',
    'console.inputLabel': '发送给 {name}（{addr}）的命令',
    'console.outputLabel': '{name} 的输出',
    'console.placeholder': '命令，例如 SET k v',
    'console.hint': '上下方向键浏览历史命令。',
    'console.notConnected': 'not connected>',
    'events.title': '事件日志',
    'events.label': '复制事件，最新的在最后',
    'events.node': '{name}',
    'events.kind.log': '日志',
    'events.kind.state': '状态',
    'events.kind.conn': '连接',
    'events.kind.net': '网络',
    'faults.title': '故障注入',
    'faults.hint': '制造故障，观察 Redis 如何恢复。崩溃会丢失内存数据但保留已保存的 RDB；暂停会让进程停止（SIGSTOP）5 个虚拟秒；切断会重置 TCP 连接；分区会扣住字节直到恢复。',
    'faults.nodeGroup': '{name}（{addr}）',
    'faults.crash': '让 {name} 崩溃',
    'faults.restart': '重启 {name}',
    'faults.pause': '暂停 {name} {seconds} 秒',
    'faults.paused': '{name} 已暂停…',
    'faults.linkGroup': '链路 {link}',
    'faults.cut': '切断连接',
    'faults.partition': '网络分区',
    'faults.heal': '恢复网络',
    'faults.announce.crashed': '{name} 已崩溃。',
    'faults.announce.restarted': '{name} 已重启。',
    'faults.announce.paused': '{name} 已暂停 {seconds} 个虚拟秒。',
    'faults.announce.cut': '{link} 之间的连接已切断。',
    'faults.announce.partitioned': '网络已分区：{link}。',
    'faults.announce.healed': '网络分区已恢复。',
    'view.down': '宕机',
    'view.paused': '已暂停',
    'view.partitioned': '已分区',
    'events.kind.fault': '故障',
    'error.title': '引擎出错，已停止：',
    'error.dismiss': '关闭',
    'error.reload': '重新加载页面',
    'error.loadFailed': '无法加载引擎（{message}）。是否已将 wasm 包构建到 www/pkg/？',
    'error.unknown': '未知错误',
    'error.badLogTitle': '无法打开分享的链接：',
    'error.badLog': '{message}。已改为显示默认实验。',
    'timeline.title': '时间回溯与分享',
    'timeline.label': '时间回溯',
    'timeline.value': '{now} 秒 / {horizon} 秒',
    'timeline.valueText': '共 {horizon} 秒，当前 {now} 秒',
    'timeline.keys': '方向键每次移动 0.25 秒，Page Up 和 Page Down 移动 5 秒，Home 和 End 跳到开头和结尾。',
    'timeline.past': '正在查看过去：新的操作将替换之后发生的一切。',
    'console.seek': '— 跳转到 {seconds} 秒 —',
    'console.replayed': '— 分享的运行已重放到 {seconds} 秒 —',
    'share.button': '复制链接',
    'share.copied': '链接已复制到剪贴板。',
    'share.manual': '复制下面的链接即可分享本次运行。',
    'share.urlLabel': '本次运行的链接：',
    'rdb.group': '{name} 的 dump.rdb',
    'rdb.export': '导出 dump.rdb',
    'rdb.exportLabel': '导出 dump.rdb：将 {name} 的数据集下载为 {file}',
    'rdb.exportDown': '{name} 已宕机：内存中没有可导出的数据集。',
    'rdb.exported': '已保存 {file}（{bytes} 字节）。',
    'rdb.import': '导入 dump.rdb…',
    'rdb.importLabel': '导入 dump.rdb：将文件加载到 {name}（它会用该文件重启）',
    'rdb.dropHint': '也可以把 .rdb 文件拖放到节点或其控制台上',
    'rdb.loaded': '已将 {bytes} 字节加载到 {name}',
    'rdb.failed': '{file} 未能加载到 {name}，{name} 保持不变。{message}',
    'rdb.readFailed': '无法读取 {file}：{message}',
    'rdb.tooLarge': '{file} 有 {bytes} 字节；本实验室最多加载 {max} 字节的文件。',
    'rdb.noFile': '请拖放一个文件（dump.rdb），而不是文本或链接。',
    'sentinels.title': '哨兵（Sentinel）',
    'sentinels.hint': '提升从节点是 Sentinel 做的：从节点自己只会不断重连它配置的主节点。每个哨兵每秒 PING 所有节点，主节点连续 {downAfter} 秒没有有效回复就标记为主观下线（+sdown，down-after-milliseconds，默认 30 秒）；达到法定人数（quorum）后为客观下线（+odown），由哨兵选出的领头哨兵提升最合适的从节点并让其他从节点指向它；若选票分散，会在两倍 failover-timeout（此处为 {failoverTimeout} 秒，默认 3 分钟）之后重试。请至少添加两个哨兵，然后让主节点崩溃或被分区。简化之处：哨兵一开始就互相知道（不经由 pub/sub 的 hello 消息发现彼此），SLAVEOF 不附带 CONFIG REWRITE 和 CLIENT KILL。',
    'sentinels.add': '添加哨兵',
    'sentinels.none': '还没有哨兵：主节点宕机后没有人会进行故障转移。',
    'sentinels.heading': '{name}（{addr}）',
    'sentinels.master': '主节点',
    'sentinels.status': '主节点状态',
    'sentinels.ok': '正常',
    'sentinels.sdown': '主观下线（+sdown）',
    'sentinels.odown': '客观下线（+odown）',
    'sentinels.down': '下线',
    'sentinels.failover': '故障转移',
    'sentinels.epoch': '纪元',
    'sentinels.epochValue': '当前 {current}，配置 {config}',
    'sentinels.replicas': '从节点',
    'sentinels.peers': '其他哨兵',
    'sentinels.configLabel': '法定人数',
    'sentinels.config': '{quorum}',
    'sentinels.inFlight': '传输中的消息',
    'sentinels.events': '{name} 的事件',
    'sentinels.announce.added': '已添加 {name}，监控 {master}。',
    'events.kind.sentinel': '哨兵',
  },
};

/** Languages offered in the selector, in display order, each named in its own language. */
export const LANGUAGES = [
  { code: 'en', name: 'English' },
  { code: 'zh-CN', name: '简体中文' },
];

const STORAGE_KEY = 'redis-repl-lab.lang';
let current = 'en';
const listeners = new Set();

/** Maps any BCP 47 tag to a catalog we have ("zh", "zh-Hans-CN" → "zh-CN"; others → "en"). */
export function matchLanguage(tag) {
  if (typeof tag !== 'string') return null;
  const lower = tag.toLowerCase();
  if (lower.startsWith('zh')) return 'zh-CN';
  if (lower.startsWith('en')) return 'en';
  return null;
}

/** Picks the language: ?lang= in the URL, then the last choice, then the browser's languages. */
export function detectLanguage() {
  const fromUrl = matchLanguage(new URLSearchParams(location.search).get('lang'));
  if (fromUrl) return fromUrl;
  try {
    const saved = matchLanguage(localStorage.getItem(STORAGE_KEY));
    if (saved) return saved;
  } catch {
    // Storage may be disabled; fall through.
  }
  const tags = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language];
  for (const tag of tags) {
    const m = matchLanguage(tag);
    if (m) return m;
  }
  return 'en';
}

export function getLanguage() {
  return current;
}

export function setLanguage(code, { remember = false } = {}) {
  const lang = matchLanguage(code) || 'en';
  current = lang;
  document.documentElement.lang = lang;
  if (remember) {
    try {
      localStorage.setItem(STORAGE_KEY, lang);
    } catch {
      // Not fatal.
    }
  }
  for (const fn of listeners) fn(lang);
}

export function onLanguageChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** Looks a key up in the current catalog and fills {placeholders} from params. */
export function t(key, params) {
  const text = catalogs[current]?.[key] ?? catalogs.en[key] ?? key;
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
}

/**
 * Fills static markup: data-i18n sets textContent, data-i18n-aria-label sets aria-label,
 * data-i18n-placeholder sets placeholder, data-i18n-title sets title.
 */
export function applyTranslations(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-aria-label]')) {
    el.setAttribute('aria-label', t(el.dataset.i18nAriaLabel));
  }
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) {
    el.setAttribute('placeholder', t(el.dataset.i18nPlaceholder));
  }
  for (const el of root.querySelectorAll('[data-i18n-title]')) el.setAttribute('title', t(el.dataset.i18nTitle));
  document.title = t('app.title');
}

/** For tests: every catalog must have every English key. */
export function missingKeys() {
  const out = [];
  for (const [lang, cat] of Object.entries(catalogs)) {
    for (const key of Object.keys(catalogs.en)) if (!(key in cat)) out.push(`${lang}:${key}`);
  }
  return out;
}
