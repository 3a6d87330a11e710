// The course's chapters, in order: each is www/scenarios/<id>.toml (a test checks this list
// against that folder). Their titles and text are in the files themselves.
export const CHAPTERS = Object.freeze([
  '01-first-full-sync',
  '05-short-disconnect',
  '06-backlog-overflow',
]);

/** The URL of a chapter's file, next to the lab's own files (so dist/ works from a sub-path). */
export function chapterUrl(id) {
  return new URL(`../scenarios/${encodeURIComponent(id)}.toml`, import.meta.url).href;
}
