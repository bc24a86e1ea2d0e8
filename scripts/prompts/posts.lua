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

local function lines(t)
  local out = {}
  for k, v in pairs(t or {}) do
    if type(v) == "string" or type(v) == "number" or type(v) == "boolean" then
      out[#out + 1] = "- " .. tostring(k) .. ": " .. tostring(v)
    elseif type(v) == "table" then
      local items = {}
      for _, x in ipairs(v) do items[#items + 1] = tostring(x) end
      if #items > 0 then out[#out + 1] = "- " .. tostring(k) .. ": " .. table.concat(items, ", ") end
    end
  end
  table.sort(out)
  return table.concat(out, "\n")
end

local function limits(name, r)
  if not r then return "- " .. name end
  local h = r.hashtags or {}
  return string.format("- %s: caption <= %d characters (aim for ~%d); %d-%d hashtags; hook <= %d words; "
      .. "script <= %d beats; tone: %s; CTA style: %s",
    name, r.caption and r.caption.max_chars or 300, r.caption and r.caption.ideal_chars or 150,
    h.min or 0, h.max or 0, r.hook and r.hook.max_words or 12, r.script and r.script.max_beats or 6,
    r.tone or "", r.cta and r.cta.style or "")
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
  if ctx.context and ctx.context ~= "" then
    add("")
    add("Business context:")
    add(string.sub(ctx.context, 1, 4000))
  end
  add("")
  add([[Return JSON: {"posts": [{"angle", "channel", "title", "hook", "script": [beats...], "caption", "cta",
 "caption_hint", "hashtags": [...], "variants": {"instagram": {"caption","cta","hashtags","hook"},
 "tiktok": {...}, "whatsapp": {...}}}, ...]} with exactly ]] .. count .. " posts.")
  if ctx.retry_reason and ctx.retry_reason ~= "" then
    add("")
    add("Your previous answer was rejected: " .. ctx.retry_reason .. ". Answer with only the JSON object.")
  end
  return { system = system, prompt = table.concat(p, "\n") }
end
