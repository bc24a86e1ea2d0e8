-- Link-preview bots and crawlers: the requests messaging apps and social
-- networks send when a tracking link is pasted. They are redirected like
-- everyone else, but stored with is_bot = true and never counted as clicks.
--
-- Operators edit this list without a rebuild: the click writer reloads the
-- file when it changes (a broken edit keeps the previous version; see
-- GET /api/scripts). Matching is a plain, case-insensitive substring search
-- on the User-Agent header.

local M = {}

M.patterns = {
  -- messaging apps and social networks unfurling a pasted link
  -- (not the in-app browsers of Instagram, TikTok, Snapchat, LINE, ...: those are people)
  "facebookexternalhit", "facebot", "meta-externalagent", "whatsapp", "telegrambot",
  "twitterbot", "slackbot", "slack-imgproxy", "discordbot", "linkedinbot", "pinterestbot",
  "redditbot", "skypeuripreview", "kakaotalk-scrap", "bytespider", "mastodon", "cardyb",
  "iframely", "embedly",
  "vkshare", "quora link preview", "outbrain", "google-pagerenderer", "google-inspectiontool",
  "apis-google", "mediapartners-google", "feedfetcher", "microsoftpreview", "bingpreview",
  -- search engines and generic crawlers
  "googlebot", "bingbot", "applebot", "duckduckbot", "yandex", "baiduspider", "slurp",
  "petalbot", "semrush", "ahrefs", "mj12bot", "dotbot", "crawler", "spider", "bot/", "bot;",
  "python-requests", "go-http-client", "curl/", "wget/", "httpclient",
}

-- classify(list of user agents) -> list of (the matching pattern | false)
function M.classify(uas)
  local out = {}
  for i, ua in ipairs(uas) do
    local lower = string.lower(ua or "")
    local hit = false
    if lower ~= "" then
      for _, p in ipairs(M.patterns) do
        if string.find(lower, p, 1, true) then
          hit = p
          break
        end
      end
    end
    out[i] = hit
  end
  return out
end

return M
