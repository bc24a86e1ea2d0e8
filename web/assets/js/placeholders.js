// placeholders.js — honest placeholder pages for sections later work fills
// (the manual queue): they say what will be there and offer what already
// works. No sample data.
import { emptyState } from './ui.js';

/** /dashboard/manual-queue until publishing ships. */
export function renderManualQueuePlaceholder(view, ctx) {
  ctx.setTitle('Manual queue', 'Posts you publish yourself');
  view.innerHTML = `<section class="card">${emptyState('Nothing to post by hand yet.',
    'Rendered promos for channels ClipLoop cannot post to directly will wait here with their caption, link and video, ready for you to post and mark as done.',
    '<a class="button secondary" href="/app">Back to the studio</a>')}</section>`;
}
