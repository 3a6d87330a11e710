// The course's chapters, in order: each is www/scenarios/<id>.toml (a test checks this list
// against that folder). Their titles and text are in the files themselves.
export const CHAPTERS = Object.freeze([
  '01-first-full-sync',
  '02-diskless-sync',
  '03-writes-during-transfer',
  '04-propagation',
  '05-short-disconnect',
  '06-backlog-overflow',
  '07-heartbeats-and-timeouts',
  '08-stale-reads',
  '09-wait-and-min-replicas',
  '10-output-buffer-limit',
  '11-chained-replicas',
  '12-promotion',
  '13-sentinel-failover',
  '14-failover-command',
  '15-restarts',
  '16-expiry',
  '17-legacy-sync',
  '18-three-myths',
]);

/** The URL of a chapter's file, next to the lab's own files (so dist/ works from a sub-path). */
export function chapterUrl(id) {
  return new URL(`../scenarios/${encodeURIComponent(id)}.toml`, import.meta.url).href;
}
