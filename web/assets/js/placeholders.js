// placeholders.js — honest placeholder pages for sections later work fills
// (chats, the manual queue): they say what will be there and offer what
// already works. No sample data.
import { emptyState } from './ui.js';

/** /app/chats until the chat workspace ships. */
export function renderChatsPlaceholder(view, ctx) {
  ctx.setTitle('Chats', 'Talk to ClipLoop about your business');
  view.innerHTML = `<section class="card">${emptyState('Chats are on their way.',
    'Here you will chat with ClipLoop using your business profile and website as context, and turn a conversation into copy or a video. Until then, the guided create flow makes a finished promo from one sentence.',
    '<a class="button" href="/app/create">Create a promo</a>')}</section>`;
}

/** /dashboard/manual-queue until publishing ships. */
export function renderManualQueuePlaceholder(view, ctx) {
  ctx.setTitle('Manual queue', 'Posts you publish yourself');
  view.innerHTML = `<section class="card">${emptyState('Nothing to post by hand yet.',
    'Rendered promos for channels ClipLoop cannot post to directly will wait here with their caption, link and video, ready for you to post and mark as done.',
    '<a class="button secondary" href="/app">Back to the studio</a>')}</section>`;
}
