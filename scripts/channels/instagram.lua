-- Instagram channel rules: polished captions, clear CTAs, a tidy hashtag block.
--
-- Every channel script returns one rules table. The host reads the data
-- fields when it builds prompts and enforces the numeric limits AFTER the
-- model answers (captions are cut at a word boundary, extra hashtags are
-- dropped, hooks are shortened), so a limit here is a guarantee, not a wish.
-- `infer(request)` scores how strongly a rough request asks for this channel.

local channel = require("channel")

local rules = {
  name = "instagram",
  caption = {
    max_chars = 2200,        -- Instagram's own limit; longer captions are cut
    ideal_chars = 300,       -- what the prompt asks for
    style = "Polished and scannable: a strong first line, short paragraphs, "
         .. "one emoji at most per line, the offer stated plainly.",
  },
  hashtags = {
    min = 3,
    max = 8,                 -- enforced: extra tags are dropped
    placement = "end",       -- a block after the caption
    policy = "Mix 2-3 niche/local tags with 1-2 broad ones; no banned or spammy tags.",
  },
  tone = "warm, confident and aspirational, but still neighbourly",
  cta = {
    max_chars = 100,          -- checked on hand-edited CTAs
    style = "A clear next step that names where to go: 'Tap the link in bio', "
         .. "'DM us \"ORDER\"', 'Save this for the weekend'.",
    examples = { "Tap the link in bio to order", "DM us to book", "Save this post" },
  },
  emoji = {
    max_per_line = 1,         -- checked on hand-edited captions and CTAs (422 naming the rule)
  },
  hook = {
    pacing = "Visual-first: the hook lands in the first 2 seconds on screen and in "
          .. "the first caption line.",
    max_words = 12,          -- enforced on the hook line
    max_seconds = 2,
  },
  script = { max_beats = 6 },
  duration = { default = 20, min = 7, max = 60 },
  aspect = "9:16",           -- Reels; use 4:5 for feed posts
  -- Burned-in captions of the voiceover (docs/audio.md): where inside the safe
  -- area (top | center | lower_third | bottom), pixels at 1080 wide, the
  -- outline width, a translucent box behind the line, the spoken word's colour.
  captions = { position = "lower_third", font_size = 60, outline = 5, box = true,
               color = "#FFFFFF", highlight_color = "#FDE68A" },
  -- Where the post's tracking link (PUBLIC_BASE_URL/r/<slug>) goes; publishers read this.
  tracking_link = { in_caption = false, placement = "bio",
    note = "Caption links are not clickable on Instagram: the tracking link goes in the bio or a story link sticker; the caption says where." },
  language_styles = {
    english = "Clean, polished English.",
    pidgin  = "Nigerian Pidgin, kept readable for a broad audience.",
    mixed   = "Mostly English with a Pidgin phrase or two for warmth.",
  },
  keywords = { "instagram", "insta", "ig", "reel", "reels", "carousel", "feed", "grid", "explore" },
}

-- Score: 10 when the request names the channel, +2 per format keyword.
function rules.infer(request)
  return channel.intent(request, { "instagram" }, { "insta", "ig" }, rules.keywords)
end

return rules
