-- WhatsApp channel rules: short, status-friendly copy with a direct sales
-- tone; no hashtags (they do nothing on WhatsApp). See instagram.lua for how
-- the host uses each field.

local channel = require("channel")

local rules = {
  name = "whatsapp",
  caption = {
    max_chars = 280,          -- fits a Status caption / one broadcast bubble
    ideal_chars = 160,
    style = "Short and direct, like a message from the owner: the offer, the "
         .. "price or deadline, and how to order. Line breaks over paragraphs.",
  },
  hashtags = {
    min = 0,
    max = 0,                  -- enforced: hashtags are removed, inline ones too
    placement = "none",
    policy = "No hashtags on WhatsApp.",
  },
  tone = "direct, friendly sales talk; personal and trustworthy",
  cta = {
    max_chars = 100,          -- checked on hand-edited CTAs
    style = "Reply-driven: 'Reply ORDER', 'Send us a message to reserve', 'Tap to chat'.",
    examples = { "Reply ORDER to reserve yours", "Message us to book", "Tap to chat with us" },
  },
  emoji = {
    max_per_line = 2,         -- checked on hand-edited captions and CTAs (422 naming the rule)
  },
  hook = {
    pacing = "Offer first: the first line says what is on offer and until when.",
    max_words = 12,
    max_seconds = 2,
  },
  script = { max_beats = 5 },
  duration = { default = 15, min = 5, max = 30 },  -- Status videos stay short
  aspect = "9:16",
  -- Burned-in captions (see instagram.lua): Status has little UI at the bottom.
  captions = { position = "bottom", font_size = 58, outline = 5, box = true,
               color = "#FFFFFF", highlight_color = "#FDE68A" },
  -- Where the post's tracking link (PUBLIC_BASE_URL/r/<slug>) goes; publishers read this.
  tracking_link = { in_caption = true, placement = "caption",
    note = "WhatsApp makes links clickable: the tracking link goes at the end of the message." },
  language_styles = {
    english = "Plain, friendly English as you would text a customer.",
    pidgin  = "Warm Pidgin, as you would text a regular customer.",
    mixed   = "English with Pidgin touches ('abeg', 'no wahala') where it feels natural.",
  },
  keywords = { "whatsapp", "whats app", "wa", "status", "broadcast", "chat", "message" },
}

function rules.infer(request)
  return channel.intent(request, { "whatsapp", "whats app" }, nil, rules.keywords)
end

return rules
