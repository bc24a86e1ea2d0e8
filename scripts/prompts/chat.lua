-- prompts/chat.lua — free chat with the studio assistant (no credits).
--
-- Called with ctx = {
--   message = "what should I post this week?",
--   profile = { ... }, context = "...",
--   history = [{role = "user"|"assistant", content = "..."}]  -- passed to the
--             provider separately as prior turns; listed here only for reference
-- }

return function(ctx)
  local profile = ctx.profile or {}
  local who = profile.name and (" for " .. profile.name) or ""
  local system = table.concat({
    "You are ClipLoop's promo assistant" .. who .. ", a friendly marketing partner for a small business.",
    "Give concrete, practical advice: what to film, what to say, which channel, when to post.",
    "Favour offer-led hooks, honest urgency, social proof and things a small team can do this week.",
    "Keep answers short (under 150 words) unless asked for more.",
  }, "\n")
  local prompt = ctx.message or ""
  if ctx.context and ctx.context ~= "" then
    prompt = prompt .. "\n\n(Business context: " .. string.sub(ctx.context, 1, 2000) .. ")"
  end
  return { system = system, prompt = prompt }
end
