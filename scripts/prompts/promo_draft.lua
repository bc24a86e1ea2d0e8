-- prompts/promo_draft.lua — brief + business context -> a promo draft.
--
-- Called with ctx = {
--   brief    = { title, channel, tone, duration_seconds, style, cta, caption_hint,
--                audience, offer, language_style, ... },
--   context  = "business context text (may be empty)",
--   channel  = "instagram",        -- the target channel
--   rules    = { ...that channel's rules table... },
--   all_rules = { instagram = {...}, tiktok = {...}, whatsapp = {...} },
--   retry_reason = "why the previous answer was rejected" (only on a retry),
-- }
-- Returns { system, prompt }. The model must answer with one JSON object:
-- hook, script (beats), caption, cta, caption_hint, hashtags, variants, template
-- (ctx.templates: the video templates the channel allows).
-- The host validates it, retries a bounded number of times, then enforces
-- the channel limits (caption length, hashtag count, hook words) itself.

local BIASES = {
  "Offer-led hooks: the first line names the deal or the result, not the brand.",
  "Urgency and scarcity when the brief has a deadline or limited stock; never invent one.",
  "Social proof: regulars, reviews, best-sellers, 'sold out last week'.",
  "Practical small-business friendliness: shots they can film on a phone today, real prices, "
    .. "how to order in one step.",
}

local prompt = require("prompt")

local function limits(name, r)
  if not r then return "" end
  return prompt.limits(name, r, false)
end

return function(ctx)
  local brief = ctx.brief or {}
  local rules = ctx.rules or {}
  local lang = brief.language_style or "english"
  local lang_rule = rules.language_styles and rules.language_styles[lang] or ""

  local system = table.concat({
    "You write short-form promo videos and captions for small local businesses.",
    "Answer with ONE JSON object and nothing else.",
    "",
    "Biases:",
    "- " .. table.concat(BIASES, "\n- "),
  }, "\n")

  local p = {}
  local function add(s) p[#p + 1] = s end
  add("Target channel: " .. (ctx.channel or brief.channel or "instagram"))
  add("Hook pacing: " .. (rules.hook and rules.hook.pacing or ""))
  add("Caption style: " .. (rules.caption and rules.caption.style or ""))
  add("Hashtag policy: " .. (rules.hashtags and rules.hashtags.policy or ""))
  add("Language style (" .. lang .. "): " .. lang_rule)
  add("")
  add("Brief:")
  for _, k in ipairs({ "title", "tone", "duration_seconds", "style", "cta", "caption_hint", "audience", "offer" }) do
    if brief[k] ~= nil and brief[k] ~= "" then add("- " .. k .. ": " .. tostring(brief[k])) end
  end
  prompt.add_context(add, ctx.context)
  local TEMPLATE_USE = {
    showcase = "the owner's product photos, one after another with slow pans and zooms (needs kept images)",
    offer = "a deal card: a % off or a price in huge type, a countdown, then the CTA",
    three_reasons = "a title and three numbered reasons or benefits (your first three beats)",
    quote = "a customer's words in quotation marks with five stars (a review or testimonial)",
  }
  if ctx.templates and #ctx.templates > 0 then
    add("")
    add("Templates allowed: " .. table.concat(ctx.templates, ", "))
    for _, name in ipairs(ctx.templates) do
      add("- " .. name .. ": " .. (TEMPLATE_USE[name] or "an operator's template"))
    end
  end
  add("")
  add("Per-channel limits (variants must respect them):")
  local names = {}
  for name in pairs(ctx.all_rules or {}) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do add(limits(name, ctx.all_rules[name])) end
  add("")
  add([[Return JSON with exactly these keys:
{"hook": the opening line (spoken/on-screen),
 "script": [4-6 short beats, in order, the last one the CTA],
 "voiceover": [3-5 short lines the narrator says aloud, in order, spoken words only, no stage directions; together under 12 seconds],
 "caption": the caption for the target channel,
 "cta": the call to action,
 "caption_hint": one sentence on how to adapt the caption,
 "hashtags": ["#tag", ...],
 "variants": {"<channel>": {"caption": ..., "cta": ..., "hashtags": [...], "hook": ...}, ...one per channel above},
 "template": one of the templates allowed above, the one that fits this promo best}]])
  prompt.add_retry(add, ctx.retry_reason, ". Answer again with only the JSON object described above.")
  return { system = system, prompt = table.concat(p, "\n") }
end
