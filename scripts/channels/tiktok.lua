-- TikTok channel rules: a sharp opening hook, fast pacing, creator-native
-- phrasing. See instagram.lua for how the host uses each field.

local channel = require("channel")

local rules = {
  name = "tiktok",
  caption = {
    max_chars = 300,          -- short on purpose; the video carries the message
    ideal_chars = 120,
    style = "One or two punchy lines that read like a creator, not an ad: "
         .. "'POV:', 'Wait for it', 'Tell me you ... without telling me'.",
  },
  hashtags = {
    min = 2,
    max = 4,
    placement = "end",
    policy = "One trend or format tag, one niche tag, one local tag. Never #fyp spam.",
  },
  tone = "playful, fast and native to the platform; talk like a person, not a brand",
  cta = {
    max_chars = 80,          -- checked on hand-edited CTAs
    style = "Casual and in-voice: 'Link in bio', 'Comment \"ME\" and we will DM you', "
         .. "'Follow for part 2'.",
    examples = { "Link in bio", "Comment ORDER and we'll DM you", "Follow for part 2" },
  },
  emoji = {
    max_per_line = 2,         -- checked on hand-edited captions and CTAs (422 naming the rule)
  },
  hook = {
    pacing = "Sharp: the first second must stop the scroll (a bold claim, a question, "
          .. "a visual surprise). Cut every 1-2 seconds after that.",
    max_words = 10,
    max_seconds = 1,
  },
  script = { max_beats = 7 },
  duration = { default = 15, min = 7, max = 45 },
  aspect = "9:16",
  -- Burned-in captions (see instagram.lua): big, high on the lower third, TikTok cyan.
  captions = { position = "lower_third", font_size = 66, outline = 6, box = true,
               color = "#FFFFFF", highlight_color = "#25F4EE" },
  -- Where the post's tracking link (PUBLIC_BASE_URL/r/<slug>) goes; publishers read this.
  tracking_link = { in_caption = false, placement = "bio",
    note = "TikTok captions do not make links clickable: the tracking link goes in the bio; the caption points there." },
  language_styles = {
    english = "Casual spoken English, short sentences, on-screen text friendly.",
    pidgin  = "Street-smart Pidgin as creators speak it.",
    mixed   = "Code-switch naturally between English and Pidgin, like local creators do.",
  },
  keywords = { "tiktok", "tik tok", "fyp", "trend", "trending", "duet", "stitch", "viral", "creator" },
}

function rules.infer(request)
  return channel.intent(request, { "tiktok", "tik tok" }, nil, rules.keywords)
end

return rules
