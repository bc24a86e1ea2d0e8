-- prompts/iteration.lua — weekly analysis: what worked, what to do next.
--
-- Called with ctx = {
--   profile = { ... },
--   items = [{title, channel, hook, clicks, conversions, revenue}, ...],
--   totals = { clicks, conversions, revenue },
-- }
-- The model answers {"summary", "winners": [titles], "recommendations": [..]}.

return function(ctx)
  local p = { "Last week's posts and their results:" }
  for i, it in ipairs(ctx.items or {}) do
    p[#p + 1] = string.format("%d. [%s] %s: %s clicks, %s conversions, revenue %s", i,
      tostring(it.channel or "?"), tostring(it.title or it.hook or "untitled"),
      tostring(it.clicks or 0), tostring(it.conversions or 0), tostring(it.revenue or 0))
  end
  if #p == 1 then p[#p + 1] = "(no tracked posts yet)" end
  p[#p + 1] = [[Return JSON: {"summary": two sentences, "winners": [titles], "recommendations": [3 concrete actions]}]]
  return {
    system = "You analyse small-business promo results honestly: never invent numbers, say when data is thin, "
      .. "and recommend concrete next videos. Answer with ONE JSON object.",
    prompt = table.concat(p, "\n"),
  }
end
