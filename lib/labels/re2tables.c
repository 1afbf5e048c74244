/* Character tables of Go's regexp syntax for re2pcre.c: the ASCII Perl and
 * POSIX classes (with Go's case folding) and the Unicode class names Go 1.19
 * knows. */
#include <stdio.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "internal.h"

#define MAX_RUNE 0x10ffff
typedef labels__rset rset;

/* ---- range sets for Perl and POSIX classes ------------------------------ */

static void rs_add(rset *s, uint32_t lo, uint32_t hi)
{
    /* insert keeping order, merge overlaps/adjacent */
    rset t = { .n = 0 };
    bool done = false;
    for (int i = 0; i < s->n; i++) {
        uint32_t a = s->r[2 * i], b = s->r[2 * i + 1];
        if (!done && lo < a) {
            t.r[2 * t.n] = lo;
            t.r[2 * t.n + 1] = hi;
            t.n++;
            done = true;
        }
        t.r[2 * t.n] = a;
        t.r[2 * t.n + 1] = b;
        t.n++;
    }
    if (!done) {
        t.r[2 * t.n] = lo;
        t.r[2 * t.n + 1] = hi;
        t.n++;
    }
    s->n = 0;
    for (int i = 0; i < t.n; i++) {
        uint32_t a = t.r[2 * i], b = t.r[2 * i + 1];
        if (s->n && a <= s->r[2 * s->n - 1] + 1) {
            if (b > s->r[2 * s->n - 1])
                s->r[2 * s->n - 1] = b;
        } else {
            s->r[2 * s->n] = a;
            s->r[2 * s->n + 1] = b;
            s->n++;
        }
    }
}

/* Go's case folding of an ASCII class: other-case letters, plus U+017F
 * (long s) and U+212A (Kelvin sign) which fold to s and k. */
static void rs_fold_ascii(rset *s)
{
    rset in = *s;
    for (int i = 0; i < in.n; i++) {
        for (uint32_t c = in.r[2 * i]; c <= in.r[2 * i + 1] && c < 0x80; c++) {
            if (c >= 'a' && c <= 'z')
                rs_add(s, c - 32, c - 32);
            else if (c >= 'A' && c <= 'Z')
                rs_add(s, c + 32, c + 32);
            if (c == 's' || c == 'S')
                rs_add(s, 0x17f, 0x17f);
            if (c == 'k' || c == 'K')
                rs_add(s, 0x212a, 0x212a);
        }
    }
}

static void rs_negate(rset *s)
{
    rset t = { .n = 0 };
    uint32_t next = 0;
    for (int i = 0; i < s->n; i++) {
        if (s->r[2 * i] > next) {
            t.r[2 * t.n] = next;
            t.r[2 * t.n + 1] = s->r[2 * i] - 1;
            t.n++;
        }
        next = s->r[2 * i + 1] + 1;
    }
    if (next <= MAX_RUNE) {
        t.r[2 * t.n] = next;
        t.r[2 * t.n + 1] = MAX_RUNE;
        t.n++;
    }
    *s = t;
}

typedef struct {
    const char *name;
    const char *ranges; /* pairs of bytes lo hi */
} agroup;

static const agroup perl_groups[] = {
    { "\\d", "09" },
    { "\\s", "\t\n\f\r  " },
    { "\\w", "09AZaz__" },
};

static const agroup posix_groups[] = {
    { "alnum", "09AZaz" },
    { "alpha", "AZaz" },
    { "ascii", "\x01\x7f" }, /* plus NUL, added below */
    { "blank", "\t\t  " },
    { "cntrl", "\x01\x1f\x7f\x7f" },
    { "digit", "09" },
    { "graph", "!~" },
    { "lower", "az" },
    { "print", " ~" },
    { "punct", "!/:@[`{~" },
    { "space", "\t\r  " },
    { "upper", "AZ" },
    { "word", "09AZaz__" },
    { "xdigit", "09AFaf" },
};

/* Builds the final range set of an ASCII group as Go's appendGroup does. */
static void group_set(const agroup *g, bool neg, bool fold, rset *s)
{
    s->n = 0;
    for (const char *r = g->ranges; r[0]; r += 2)
        rs_add(s, (unsigned char)r[0], (unsigned char)r[1]);
    if (!strcmp(g->name, "ascii") || !strcmp(g->name, "cntrl"))
        rs_add(s, 0, 0);
    if (fold)
        rs_fold_ascii(s);
    if (neg)
        rs_negate(s);
}

bool labels__perl_group(char c, bool fold, labels__rset *out)
{
    bool neg = c == 'D' || c == 'S' || c == 'W';
    char lc = (char)(neg ? c + 32 : c);
    for (size_t k = 0; k < sizeof(perl_groups) / sizeof(perl_groups[0]); k++)
        if (perl_groups[k].name[1] == lc) {
            group_set(&perl_groups[k], neg, fold, out);
            return true;
        }
    return false;
}

bool labels__posix_group(const char *name, size_t len, bool fold, labels__rset *out)
{
    bool neg = false;
    if (len && name[0] == '^') {
        neg = true;
        name++;
        len--;
    }
    for (size_t k = 0; k < sizeof(posix_groups) / sizeof(posix_groups[0]); k++)
        if (strlen(posix_groups[k].name) == len && !memcmp(posix_groups[k].name, name, len)) {
            group_set(&posix_groups[k], neg, fold, out);
            return true;
        }
    return false;
}

static const char *const go_categories[] = {
    "C", "Cc", "Cf", "Co", "Cs", "L", "Ll", "Lm", "Lo", "Lt", "Lu", "M", "Mc", "Me",
    "Mn", "N", "Nd", "Nl", "No", "P", "Pc", "Pd", "Pe", "Pf", "Pi", "Po", "Ps", "S",
    "Sc", "Sk", "Sm", "So", "Z", "Zl", "Zp", "Zs",
};

/* Go 1.19's unicode.Scripts (Unicode 13), which Prometheus 2.42 is built with. */
static const char *const go_scripts[] = {
    "Adlam", "Ahom", "Anatolian_Hieroglyphs", "Arabic", "Armenian", "Avestan", "Balinese",
    "Bamum", "Bassa_Vah", "Batak", "Bengali", "Bhaiksuki", "Bopomofo", "Brahmi", "Braille",
    "Buginese", "Buhid", "Canadian_Aboriginal", "Carian", "Caucasian_Albanian", "Chakma",
    "Cham", "Cherokee", "Chorasmian", "Common", "Coptic", "Cuneiform", "Cypriot", "Cyrillic",
    "Deseret", "Devanagari", "Dives_Akuru", "Dogra", "Duployan", "Egyptian_Hieroglyphs",
    "Elbasan", "Elymaic", "Ethiopic", "Georgian", "Glagolitic", "Gothic", "Grantha", "Greek",
    "Gujarati", "Gunjala_Gondi", "Gurmukhi", "Han", "Hangul", "Hanifi_Rohingya", "Hanunoo",
    "Hatran", "Hebrew", "Hiragana", "Imperial_Aramaic", "Inherited", "Inscriptional_Pahlavi",
    "Inscriptional_Parthian", "Javanese", "Kaithi", "Kannada", "Katakana", "Kayah_Li",
    "Kharoshthi", "Khitan_Small_Script", "Khmer", "Khojki", "Khudawadi", "Lao", "Latin",
    "Lepcha", "Limbu", "Linear_A", "Linear_B", "Lisu", "Lycian", "Lydian", "Mahajani",
    "Makasar", "Malayalam", "Mandaic", "Manichaean", "Marchen", "Masaram_Gondi", "Medefaidrin",
    "Meetei_Mayek", "Mende_Kikakui", "Meroitic_Cursive", "Meroitic_Hieroglyphs", "Miao", "Modi",
    "Mongolian", "Mro", "Multani", "Myanmar", "Nabataean", "Nandinagari", "New_Tai_Lue", "Newa",
    "Nko", "Nushu", "Nyiakeng_Puachue_Hmong", "Ogham", "Ol_Chiki", "Old_Hungarian",
    "Old_Italic", "Old_North_Arabian", "Old_Permic", "Old_Persian", "Old_Sogdian",
    "Old_South_Arabian", "Old_Turkic", "Oriya", "Osage", "Osmanya", "Pahawh_Hmong", "Palmyrene",
    "Pau_Cin_Hau", "Phags_Pa", "Phoenician", "Psalter_Pahlavi", "Rejang", "Runic", "Samaritan",
    "Saurashtra", "Sharada", "Shavian", "Siddham", "SignWriting", "Sinhala", "Sogdian",
    "Sora_Sompeng", "Soyombo", "Sundanese", "Syloti_Nagri", "Syriac", "Tagalog", "Tagbanwa",
    "Tai_Le", "Tai_Tham", "Tai_Viet", "Takri", "Tamil", "Tangut", "Telugu", "Thaana", "Thai",
    "Tibetan", "Tifinagh", "Tirhuta", "Ugaritic", "Vai", "Wancho", "Warang_Citi", "Yezidi",
    "Yi", "Zanabazar_Square",
};

/* Is name a Unicode category or script Go knows (exact spelling)? PCRE2
 * must know it too, which its own compile confirms. */
bool labels__unicode_name_ok(const char *name, size_t len)
{
    bool found = len == 3 && !memcmp(name, "Any", 3);
    for (size_t k = 0; !found && k < sizeof(go_categories) / sizeof(go_categories[0]); k++)
        found = strlen(go_categories[k]) == len && !memcmp(go_categories[k], name, len);
    for (size_t k = 0; !found && k < sizeof(go_scripts) / sizeof(go_scripts[0]); k++)
        found = strlen(go_scripts[k]) == len && !memcmp(go_scripts[k], name, len);
    if (!found)
        return false;
    char pat[64];
    int pl = snprintf(pat, sizeof(pat), "\\p{%.*s}", (int)len, name);
    int ec;
    PCRE2_SIZE eo;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)pat, (PCRE2_SIZE)pl, PCRE2_UTF, &ec, &eo, NULL);
    if (!code)
        return false;
    pcre2_code_free(code);
    return true;
}

