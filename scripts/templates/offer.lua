-- Offer / countdown card: the deal in huge accent type on a brand card
-- ("50% OFF", "$12"), the hook as its headline, a "3 - 2 - 1" countdown to
-- the call to action, which lands as a button. With images the first one
-- moves slowly behind the card; without, a two-colour brand gradient.
--
-- build(ctx) returns {background, layers} (docs/composition.md, "Templates").

local kit = require("template_kit")

-- The deal named in the words: "50%" (+ " OFF"), or a price like "$12", "₦5,000", "9.99 EUR".
local function deal(s)
  local pct = s:match("(%d+%s?%%)")
  if pct then return (pct:gsub("%s", "")) .. " OFF" end
  local cur = s:match("([%$£€₦]%s?[%d][%d,%.]*)")
  if cur then return cur end
  local num = s:match("([%d][%d,%.]*%s?[A-Z][A-Z][A-Z])")
  if num then return num end
  return nil
end

local function build(ctx)
  local f, b, t, W, H, D, u, A, L = kit.frame(ctx)  -- A: clear of the caption band
  local wide = W > H
  local big = deal(t.hook) or deal(t.caption) or deal(t.cta) or "TODAY ONLY"

  if #ctx.images > 0 then
    L[#L + 1] = { type = "image", media = ctx.images[1].media, start = 0, ["end"] = D, fit = "cover",
                  motion = { from = { scale = 1.0, cx = 0.5, cy = 0.5 }, to = { scale = 1.12, cx = 0.5, cy = 0.5 } } }
    L[#L + 1] = { type = "rect", role = "tint", box = { x = 0, y = 0, w = W, h = H }, color = b.dark, opacity = 0.45 }
  end

  -- the card: centred in the safe area (the right 58% when landscape)
  local card = wide and { x = math.floor(W * 0.40), y = A.y + A.h * 0.06, w = A.x + A.w - math.floor(W * 0.40), h = A.h * 0.88 }
                     or (A.h < 700 * u and { x = A.x, y = A.y, w = A.w, h = A.h - 114 * u }   -- short: the name just below
                                            or { x = A.x, y = A.y + A.h * 0.06, w = A.w, h = math.min(A.h * 0.78, A.h * 0.94 - 124 * u) })
  L[#L + 1] = { type = "rect", role = "card", box = card, color = b.light, opacity = 0.97, radius = 44 * u,
                animation = "fade" }
  L[#L + 1] = { type = "rect", role = "stripe", box = { x = card.x, y = card.y, w = card.w, h = 22 * u },
                color = b.accent, radius = 10 * u, animation = "fade" }
  local pad = 48 * u
  -- below the label: the badge, the hook, then the caption / countdown / CTA slot.
  -- A short card (the captions take the frame's lower part) drops the label and
  -- shows the hook, caption, countdown and CTA in turn in one slot under the badge.
  local short = card.h < 640 * u
  local y0 = card.y + (short and 36 or 160) * u
  local inner = card.y + card.h - 24 * u - y0
  local bw = card.w - 2 * pad
  local badge_h = inner * (short and 0.48 or 0.34)
  local slot = short and { y = y0 + inner * 0.5, h = inner * 0.5 }
  if not short then
    L[#L + 1] = { role = "label", text = "LIMITED OFFER", start = 0.2, ["end"] = D, animation = "fade",
                  font = "heading", font_size = math.floor(36 * u), color = b.on_primary,
                  box = { x = card.x + pad, y = card.y + 60 * u, w = bw, h = 80 * u },
                  bg = { color = b.primary, pad = 18 * u, radius = 30 * u } }
  end
  L[#L + 1] = { role = "badge", text = big, start = 0.5, ["end"] = D, animation = "slide_up",
                font = "heading", font_size = math.floor(math.min((#big <= 8 and 170 or 120) * u, badge_h * 0.85)),
                color = b.primary, shadow = false, box = { x = card.x + pad, y = y0, w = bw, h = badge_h } }
  L[#L + 1] = { role = "hook", text = t.hook, start = 1.0, ["end"] = short and D * 0.25 or D, animation = "fade",
                font = "heading", font_size = math.floor(math.min(62 * u, short and slot.h * 0.4 or 1e9)), color = b.dark,
                shadow = false, box = short and { x = card.x + pad, y = slot.y, w = bw, h = slot.h }
                                         or { x = card.x + pad, y = y0 + inner * 0.36, w = bw, h = inner * 0.30 } }
  local low = short and { x = card.x + pad, y = slot.y, w = bw, h = slot.h }
                     or { x = card.x + pad, y = y0 + inner * 0.68, w = bw, h = inner * 0.32 }
  if t.caption ~= "" then
    L[#L + 1] = { role = "caption", text = t.caption, start = short and D * 0.25 or math.min(2.0, D * 0.2), ["end"] = D * 0.40,
                  animation = "fade", font = "body", font_size = math.floor(math.min(38 * u, low.h * 0.4)),
                  color = "#374151", shadow = false, box = low }
  end
  -- countdown: 3, 2, 1 in the card's lower part, after the caption and before the CTA
  local cs, per = D * 0.40, D * 0.32 / 3
  for i = 3, 1, -1 do
    local s = cs + (3 - i) * per
    L[#L + 1] = { role = "countdown", text = tostring(i), start = s, ["end"] = s + per,
                  animation = "fade", fade_in = 0.15, fade_out = 0.15, font = "heading",
                  font_size = math.floor(math.min(120 * u, low.h * 0.85)), color = b.primary, shadow = false, box = low }
  end
  kit.cta(L, t, D * 0.72, D, math.min(54 * u, low.h * 0.42), b.on_accent,
          short and low or { x = card.x + pad, y = y0 + inner * 0.70, w = bw, h = inner * 0.28 },
          { color = b.accent, pad = math.min(30 * u, low.h * 0.18), radius = 40 * u })
  kit.business_name(L, t, D, 40 * u, "#FFFFFF",
                    { box = wide and { x = A.x, y = A.y, w = card.x - A.x - 40 * u, h = 120 * u }
                                  or { x = A.x, y = card.y + card.h + 24 * u, w = A.w, h = 90 * u } })
  return kit.composition(L, b, D, { type = "gradient", colors = { b.primary, b.secondary } })
end

return { build = build }
