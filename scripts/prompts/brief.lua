-- prompts/brief.lua — rough prompt -> an editable brief.
--
-- Called with ctx = {
--   request  = "WhatsApp promo for our weekend sale",   -- the user's words
--   profile  = { name, category, location, audience, offer, tone, language_style, ... },
--   context  = "text from the business's documents/website (may be empty)",
--   channel  = "whatsapp",          -- inferred from the request ("" if none)
--   rules    = { ...the channel's rules table, see scripts/channels/ },
--   channels = { "instagram", "tiktok", "whatsapp" },
-- }
-- Returns { system = "...", prompt = "..." }. The model must answer with one
-- JSON object; the host validates it and fills defaults.

-- Generation biases: edit these to change how every brief leans.
local BIASES = {
  "Lead with the offer: the hook names what the customer gets (discount, bundle, free delivery).",
  "Use urgency or scarcity only when the request or profile supports it (a deadline, limited stock).",
  "Prefer social proof angles: regulars, reviews, 'our best-seller'.",
  "Be practical for a small business: things they can film on a phone this week, no studio shots.",
}

local prompt = require("prompt")
local lines = prompt.lines

return function(ctx)
  local rules = ctx.rules or {}
  local channel = (ctx.channel ~= nil and ctx.channel ~= "") and ctx.channel or nil
  local system = table.concat({
    "You are a senior short-form video strategist for small local businesses.",
    "You turn a rough request into a concise, editable creative brief.",
    "Answer with ONE JSON object and nothing else.",
    "",
    "Biases:",
    "- " .. table.concat(BIASES, "\n- "),
  }, "\n")

  local parts = {
    "Request: " .. (ctx.request or ""),
    "",
    "Business profile:",
    lines(ctx.profile),
  }
  prompt.add_context(function(s) parts[#parts + 1] = s end, ctx.context, "Business context (from their documents):")
  parts[#parts + 1] = ""
  if channel then
    parts[#parts + 1] = "Channel: " .. channel .. " (the request asks for it)."
    parts[#parts + 1] = "Channel tone: " .. (rules.tone or "")
    if rules.duration then
      parts[#parts + 1] = string.format("Duration: %d-%d seconds, default %d.",
        rules.duration.min or 5, rules.duration.max or 60, rules.duration.default or 20)
    end
  else
    parts[#parts + 1] = "Pick the best channel from: " .. table.concat(ctx.channels or {}, ", ") .. "."
  end
  parts[#parts + 1] = ""
  parts[#parts + 1] = [[Return JSON with exactly these keys:
{"title": short working title,
 "channel": one of the channels above,
 "tone": a few words,
 "duration_seconds": integer,
 "style": one sentence on the visual style,
 "cta": the call to action,
 "caption_hint": one sentence guiding the caption,
 "audience": who this is for,
 "offer": the offer in a few words, or "" if none,
 "language_style": "english" | "pidgin" | "mixed"}]]
  return { system = system, prompt = table.concat(parts, "\n") }
end
