// The moment the pages show: null while live, else {seq, at} of the past being viewed (the
// time machine sets it). Views that read the hub's lists ask here, so that a past moment is
// shown from the rebuilt store, and the events list stops at it.

let viewed = null;

/** {seq, at} of the moment shown, or null when the pages are live. */
export function viewing() {
  return viewed;
}

/** Sets the moment shown (null: live); for the time machine only. */
export function setViewing(moment) {
  viewed = moment;
  if (moment) document.documentElement.dataset.viewing = 'past';
  else delete document.documentElement.dataset.viewing;
}

/** Query parameters that bound an /api/events request to the moment shown. */
export function upToMoment() {
  return viewed ? { before: viewed.seq + 1 } : {};
}
