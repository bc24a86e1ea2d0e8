-- prompts/posts.lua — a strategy cycle's pack: several posts for one week,
-- all from ONE model call (the host retries once at most).
--
-- Called with ctx = {
--   count    = 5,
--   channels = { "instagram", "whatsapp", "instagram", "whatsapp", "instagram" }, -- per post, in order
--   profile  = { name, category, location, audience, offer, tone, cta, language_style, ... },
--   context  = "business context text (may be empty)",
--   brief    = "the week's focus in the owner's words (may be empty)",
--   week_start = "2026-12-07",
--   all_rules = { instagram = {...}, tiktok = {...}, whatsapp = {...} },
--   analysis = { summary = "...", recommendations = {...},     -- last week's, optional
--                plans = { {hook, angle, label}, ... } },      -- per post (the learning loop's next week)
--   retry_reason = "why the previous answer was rejected" (only on a retry),
-- }
-- The model answers {"posts":[{"angle","channel","title","hook","script":[…],
-- "caption","cta","caption_hint","hashtags":[…],"variants":{"<channel>":
-- {"caption","cta","hashtags","hook"}…}}…]} with exactly `count` posts.
-- The host validates every post like a promo draft, then enforces each
-- channel's rules (caption length, hashtags, hook words, script beats).

local ANGLES = {
  "offer: the deal or the result first, with the real deadline if there is one",
  "product: the product or service up close, what makes it worth it",
  "social_proof: regulars, reviews, best-sellers — only what the business can show",
  "behind_the_scenes: the making of, the people, the place",
  "last_call: the closing reminder of the week's offer",
}

local prompt = require("prompt")
local lines = prompt.lines

local function limits(name, r)
  if not r then return "- " .. name end
  return prompt.limits(name, r, true)
end

return function(ctx)
  local count = tonumber(ctx.count) or 5
  if count < 1 then count = 1 elseif count > 14 then count = 14 end
  local channels = ctx.channels or {}
  local rules = ctx.all_rules or {}

  -- distinct channels, in post order
  local seen, distinct = {}, {}
  for _, c in ipairs(channels) do
    if not seen[c] then seen[c] = true; distinct[#distinct + 1] = c end
  end
  if #distinct == 0 then distinct = { "instagram" } end

  local system = table.concat({
    "You plan a week of short-form promo videos for a small local business.",
    "Every post is grounded in the business profile and the week's focus: real products, real offers,",
    "real places. Never invent prices, discounts, deadlines or reviews that are not given.",
    "Each post takes a different angle. Answer with ONE JSON object and nothing else.",
  }, "\n")

  local p = {}
  local function add(s) p[#p + 1] = s end
  add(string.format("Plan %d posts for the week starting %s.", count, tostring(ctx.week_start or "")))
  add("Channels to use: " .. table.concat(distinct, ", "))
  add("")
  add("Business profile:")
  add(lines(ctx.profile))
  add("")
  local focus = ctx.brief
  if type(focus) == "table" then focus = focus.offer or focus.title end
  if type(focus) == "string" and focus ~= "" then
    add("Request: " .. focus)
  else
    add("No special focus this week: feature what the business sells (the profile's offer).")
  end
  if ctx.analysis and ctx.analysis.summary then
    add("Last week: " .. ctx.analysis.summary)
    for _, r in ipairs(ctx.analysis.recommendations or {}) do add("- " .. tostring(r)) end
  end
  add("")
  add("The posts, in order (keep each one's channel and angle):")
  local plans = ctx.analysis and ctx.analysis.plans or {}
  for i = 1, count do
    local plan = plans[i]
    add(string.format("Post %d: channel %s, angle %s", i, channels[i] or distinct[1],
      plan and plan.angle ~= "" and plan.angle or ANGLES[(i - 1) % #ANGLES + 1]))
    if plan then
      -- the learning loop: each post continues one of last week's posts
      add(string.format("  It %s. Open with this hook: %s", plan.label or "continues last week's post",
        plan.hook or ""))
    end
  end
  add("")
  add("Channel rules:")
  for _, name in ipairs({ "instagram", "tiktok", "whatsapp" }) do
    if rules[name] then add(limits(name, rules[name])) end
  end
  prompt.add_context(add, ctx.context)
  add("")
  add([[Return JSON: {"posts": [{"angle", "channel", "title", "hook", "script": [beats...], "caption", "cta",
 "caption_hint", "hashtags": [...], "variants": {"instagram": {"caption","cta","hashtags","hook"},
 "tiktok": {...}, "whatsapp": {...}}}, ...]} with exactly ]] .. count .. " posts.")
  prompt.add_retry(add, ctx.retry_reason)
  return { system = system, prompt = table.concat(p, "\n") }
end
