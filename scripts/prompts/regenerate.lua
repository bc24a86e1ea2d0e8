-- prompts/regenerate.lua — a new version of an existing draft, following
-- the user's feedback. Same answer shape as promo_draft.
--
-- Called with ctx = {
--   brief, context, channel, rules, all_rules   -- as for promo_draft
--   profile = { name, category, location, audience, offer, ... } (optional),
--   previous = { ...the draft being replaced... },
--   feedback = "make it funnier, mention free delivery",
--   retry_reason = "..." (only on a retry),
-- }

local BIASES = {
  "Keep what worked in the previous draft unless the feedback says otherwise.",
  "Offer-led hooks; urgency only when real; social proof; practical for a small business.",
}

local prompt = require("prompt")

return function(ctx)
  local prev = ctx.previous or {}
  local brief = ctx.brief or {}
  local rules = ctx.rules or {}
  local p = {
    "Target channel: " .. (ctx.channel or brief.channel or "instagram"),
    "Channel tone: " .. (rules.tone or ""),
    "Hook pacing: " .. (rules.hook and rules.hook.pacing or ""),
    "",
    "Previous hook: " .. tostring(prev.hook or ""),
    "Previous caption: " .. tostring(prev.caption or ""),
    "Previous CTA: " .. tostring(prev.cta or ""),
    "",
    "Feedback: " .. (ctx.feedback ~= nil and ctx.feedback ~= "" and ctx.feedback or "Try a fresh angle."),
    "",
    "Brief title: " .. tostring(brief.title or ""),
    "Offer: " .. tostring(brief.offer or ""),
    "Angle: " .. tostring(brief.angle or prev.angle or ""),
    "",
    [[Return JSON with exactly these keys:
{"hook", "script": [beats…], "caption", "cta", "caption_hint", "hashtags": [...],
 "variants": {"instagram": {"caption","cta","hashtags"}, "tiktok": {...}, "whatsapp": {...}}}]],
  }
  if ctx.profile then
    p[#p + 1] = ""
    p[#p + 1] = "Business profile:"
    p[#p + 1] = prompt.lines(ctx.profile, true)
  end
  if brief.week_brief and brief.week_brief ~= "" then
    p[#p + 1] = "Request: " .. brief.week_brief
  end
  prompt.add_retry(function(s) p[#p + 1] = s end, ctx.retry_reason)
  return {
    system = "You rewrite short-form promo drafts for small local businesses. Answer with ONE JSON object.\n- "
      .. table.concat(BIASES, "\n- "),
    prompt = table.concat(p, "\n"),
  }
end
