#!/usr/bin/env python3
"""Synthetic Czech client records for demos, tests and benchmarks (no real person).

Deterministic for a given --seed. Valid rodné číslo (9 digits before 1954, else mod-11 check digit;
+50 month for women), E.164 +420 numbers (mobile and fixed-line prefixes), IČO with a valid check digit
for some self-employed clients, and deliberate realism: family members sharing one phone
number or e-mail (caller identification must list them all), clients without an ICIS id,
diacritics everywhere.

Copied from ../shared/tools/gen_clients.py (outside this repository); `generate()` is what
scripts/seed-clients.py imports.

usage: gen_clients.py [-n COUNT] [--seed S] [--format csv|ndjson] > clients.csv
"""
import argparse, csv, json, random, sys, unicodedata

MEN = ["Jan", "Jiří", "Petr", "Josef", "Pavel", "Martin", "Tomáš", "Jaroslav", "Miroslav", "Zdeněk",
       "Václav", "Michal", "František", "Jakub", "Milan", "Karel", "Lukáš", "David", "Vojtěch", "Ondřej"]
WOMEN = ["Jana", "Marie", "Eva", "Hana", "Anna", "Lenka", "Kateřina", "Lucie", "Věra", "Alena",
         "Petra", "Veronika", "Jaroslava", "Tereza", "Martina", "Zuzana", "Michaela", "Jitka", "Ivana", "Helena"]
SURNAMES = [("Novák", "Nováková"), ("Svoboda", "Svobodová"), ("Novotný", "Novotná"), ("Dvořák", "Dvořáková"),
            ("Černý", "Černá"), ("Procházka", "Procházková"), ("Kučera", "Kučerová"), ("Veselý", "Veselá"),
            ("Horák", "Horáková"), ("Němec", "Němcová"), ("Marek", "Marková"), ("Pospíšil", "Pospíšilová"),
            ("Hájek", "Hájková"), ("Jelínek", "Jelínková"), ("Král", "Králová"), ("Růžička", "Růžičková"),
            ("Beneš", "Benešová"), ("Fiala", "Fialová"), ("Sedláček", "Sedláčková"), ("Doležal", "Doležalová"),
            ("Zeman", "Zemanová"), ("Kolář", "Kolářová"), ("Navrátil", "Navrátilová"), ("Čermák", "Čermáková")]
CITIES = [("Praha", "110 00"), ("Brno", "602 00"), ("Ostrava", "702 00"), ("Plzeň", "301 00"), ("Liberec", "460 01"),
          ("Olomouc", "779 00"), ("České Budějovice", "370 01"), ("Hradec Králové", "500 02"), ("Ústí nad Labem", "400 01"),
          ("Pardubice", "530 02"), ("Zlín", "760 01"), ("Havířov", "736 01"), ("Kladno", "272 01"), ("Jihlava", "586 01")]
STREETS = ["Masarykova", "Husova", "Palackého", "Nádražní", "Školní", "Komenského", "Jiráskova", "Smetanova",
           "Tyršova", "Žižkova", "Revoluční", "Sokolská", "Lidická", "Máchova", "Dvořákova", "Na Příkopě"]
DOMAINS = ["seznam.cz", "email.cz", "gmail.com", "centrum.cz", "post.cz", "volny.cz"]
MOBILE = ["601", "602", "603", "604", "605", "606", "607", "608", "702", "703", "704", "705", "720", "721",
          "722", "723", "724", "725", "730", "731", "732", "733", "734", "736", "737", "739", "770", "773",
          "774", "775", "776", "777", "790", "792", "793", "797", "799"]
FIXED = ["2", "31", "32", "35", "37", "38", "41", "46", "47", "48", "49", "51", "53", "54", "55", "56", "57", "58"]
STATUSES = ["standard"] * 17 + ["vip", "debtor", "deceased"]

def ascii_fold(s):
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))

def rodne_cislo(rnd, female, year):
    """YYMMDD/SSS(C): 9 digits before 1954, else 10 with first9 % 11 as check digit
    (remainder 10 → 0 was issued only until 1985, so later numbers avoid it)."""
    month = rnd.randint(1, 12)
    day = rnd.randint(1, 28)
    mm = month + (50 if female else 0)
    yy = year % 100
    while True:
        serial = rnd.randint(0, 999)
        first9 = f"{yy:02d}{mm:02d}{day:02d}{serial:03d}"
        if year < 1954:
            return first9, f"{year:04d}-{month:02d}-{day:02d}"
        r = int(first9) % 11
        if r == 10 and year > 1985:
            continue
        return first9 + str(r % 10), f"{year:04d}-{month:02d}-{day:02d}"

def ico(rnd):
    d = [rnd.randint(0, 9) for _ in range(7)]
    r = sum(x * w for x, w in zip(d, [8, 7, 6, 5, 4, 3, 2])) % 11
    c = 1 if r == 0 else 0 if r == 1 else 11 - r
    return "".join(map(str, d)) + str(c % 10)

def phone(rnd, mobile=True):
    if mobile:
        p = rnd.choice(MOBILE)
    else:
        p = rnd.choice(FIXED)
    rest = "".join(str(rnd.randint(0, 9)) for _ in range(9 - len(p)))
    return "+420" + p + rest

FIELDS = ["icis_id", "insurance_number", "first_name", "last_name", "birth_date", "gender", "company",
          "ico", "street", "city", "postal_code", "phone", "mobile", "email", "status",
          "preferred_language", "note"]

def generate(n, seed):
    """Yields n records (dicts with the FIELDS keys, snake_case, empty string when absent)."""
    rnd = random.Random(seed)
    household = None
    for i in range(n):
        female = rnd.random() < 0.52
        sur = rnd.choice(SURNAMES)
        first = rnd.choice(WOMEN if female else MEN)
        last = sur[1] if female else sur[0]
        year = rnd.randint(1935, 2024)
        rc, birth = rodne_cislo(rnd, female, year)
        city, psc = rnd.choice(CITIES)
        # about one in six records shares the previous household's phone and e-mail
        if household and rnd.random() < 0.17:
            mob, mail = household
        else:
            mob = phone(rnd)
            mail = f"{ascii_fold(first).lower()}.{ascii_fold(last).lower()}{rnd.randint(1, 99)}@{rnd.choice(DOMAINS)}"
            household = (mob, mail)
        self_employed = rnd.random() < 0.08
        rec = {
            "icis_id": "" if rnd.random() < 0.05 else str(10_000_000 + i),
            "insurance_number": rc, "first_name": first, "last_name": last, "birth_date": birth,
            "gender": "F" if female else "M",
            "company": f"{first} {last} – živnost" if self_employed else "",
            "ico": ico(rnd) if self_employed else "",
            "street": f"{rnd.choice(STREETS)} {rnd.randint(1, 250)}", "city": city, "postal_code": psc,
            "phone": phone(rnd, mobile=False) if rnd.random() < 0.25 else "",
            "mobile": mob, "email": mail if rnd.random() < 0.85 else "",
            "status": rnd.choice(STATUSES), "preferred_language": "cs" if rnd.random() < 0.95 else "en",
            "note": "",
        }
        yield rec

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--format", choices=["csv", "ndjson"], default="csv")
    a = ap.parse_args()
    out = csv.DictWriter(sys.stdout, fieldnames=FIELDS) if a.format == "csv" else None
    if out: out.writeheader()
    for rec in generate(a.n, a.seed):
        if out: out.writerow(rec)
        else: sys.stdout.write(json.dumps(rec, ensure_ascii=False) + "\n")

if __name__ == "__main__":
    main()
