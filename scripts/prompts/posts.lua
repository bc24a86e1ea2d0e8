-- prompts/posts.lua — a strategy-cycle pack: several posts for the coming week.
--
-- Called with ctx = {
--   count = 5, channels = { "instagram", "whatsapp" },
--   profile = { ... }, context = "...",
--   analysis = { summary = "...", recommendations = {...} } -- last week's, optional
-- }
-- The model answers {"posts":[{"day","channel","title","hook","caption","cta"}...]}.

return function(ctx)
  local count = tonumber(ctx.count) or 5
  if count < 1 then count = 1 elseif count > 14 then count = 14 end
  local p = {
    string.format("Plan %d posts for the coming week.", count),
    "Channels to use: " .. table.concat(ctx.channels or { "instagram", "tiktok", "whatsapp" }, ", "),
  }
  local profile = ctx.profile or {}
  for _, k in ipairs({ "name", "category", "location", "audience", "offer" }) do
    if profile[k] then p[#p + 1] = k .. ": " .. tostring(profile[k]) end
  end
  if ctx.analysis and ctx.analysis.summary then
    p[#p + 1] = "Last week: " .. ctx.analysis.summary
    for _, r in ipairs(ctx.analysis.recommendations or {}) do p[#p + 1] = "- " .. tostring(r) end
  end
  if ctx.context and ctx.context ~= "" then p[#p + 1] = "Context: " .. string.sub(ctx.context, 1, 3000) end
  p[#p + 1] = [[Return JSON: {"posts": [{"day": 1-7, "channel", "title", "hook", "caption", "cta"}, ...]}]]
  return {
    system = "You plan weekly short-form content for small local businesses. Mix offer-led posts, "
      .. "social proof and behind-the-scenes; use urgency only for real deadlines. Answer with ONE JSON object.",
    prompt = table.concat(p, "\n"),
  }
end
