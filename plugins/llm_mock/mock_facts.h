/*
 * mock_facts.h — what the offline mock provider knows about a request: the
 * business (from the profile lines and the business-context JSON the prompt
 * scripts put in the prompt), and, from the user's own words, the product,
 * the deal, the deadline and the action they asked for.
 *
 * The mock answers from these facts so that offline mode reads like the real
 * product: a prompt about "half price jollof trays this weekend" gets a brief,
 * a draft and a video about half price jollof trays this weekend, in the
 * user's words, for the business by name. Nothing is invented: a fact that is
 * not in the prompt stays empty and the copy does without it.
 *
 * Pure functions over text (no allocation, no state): safe on any thread.
 */
#ifndef CL_LLM_MOCK_FACTS_H
#define CL_LLM_MOCK_FACTS_H

#include <stddef.h>

typedef struct mock_facts {
    /* from the prompt's labelled lines and the business context */
    char request[600];   /**< "Request: …" (brief), the user's message (chat) */
    char business[96];   /**< profile name / business_name */
    char category[80];
    char location[96];   /**< city (and state) */
    char audience[160];
    char sells[160];     /**< the profile's primary offer: what the business sells */
    char tone[64];
    char profile_cta[96];
    char channel[16];    /**< "Target channel: …" or the channel the request names */
    /* from a brief (draft and regenerate prompts) */
    char title[160];
    char brief_offer[200];
    char brief_cta[128];
    /* from the user's words (request or brief) */
    char product[96];    /**< what is promoted: "jollof trays" */
    char offer[128];     /**< the deal as written: "half price", "10% off" */
    char when[64];       /**< "this weekend", "until Friday" */
    char action[96];     /**< an action the user named: "Order on Instagram" */
    int service;         /**< 1: people book it (salon, class, …) rather than order it */
} mock_facts;

/** Fill *f from a provider request's system text and prompt (either may be NULL). */
void mock_facts_read(const char *system, const char *prompt, mock_facts *f);

/**
 * The deal in one phrase, from the user's words: "half price jollof trays
 * this weekend", "birthday cakes with free delivery", "braids sale this
 * weekend"; the product alone when there is no deal; "" when there is
 * neither. with_when 0 leaves the deadline out.
 */
void mock_deal(const mock_facts *f, int with_when, char *out, size_t len);

/** The call to action: the user's own, else the profile's, else one fitting the channel and business. */
void mock_cta(const mock_facts *f, const char *channel, char *out, size_t len);

/** out = s with its first letter upper-cased (ASCII). Returns out. */
const char *mock_capitalize(const char *s, char *out, size_t len);

#endif
