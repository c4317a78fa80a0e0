"""A venue's address, as staff typed it, read into schema.org's PostalAddress for search
engines, conservatively: a part goes into a field only when it is recognised (a country, a
U.S. state or Canadian province, a postal code, the town before them); what cannot be placed
is left out rather than guessed.

"1 Main Street\\nSarasota, FL 34236\\nUSA" -> streetAddress "1 Main Street", addressLocality
"Sarasota", addressRegion "FL", postalCode "34236", addressCountry "US".
"""

import re

COUNTRIES = {
    "us": "US",
    "usa": "US",
    "u.s.": "US",
    "u.s.a.": "US",
    "united states": "US",
    "united states of america": "US",
    "canada": "CA",
    "uk": "GB",
    "united kingdom": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "ireland": "IE",
    "australia": "AU",
    "new zealand": "NZ",
    "germany": "DE",
    "france": "FR",
    "spain": "ES",
    "italy": "IT",
    "netherlands": "NL",
    "the netherlands": "NL",
    "denmark": "DK",
    "sweden": "SE",
    "norway": "NO",
    "mexico": "MX",
}

US_STATES = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia",
    "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois",
    "IN": "Indiana", "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana",
    "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan",
    "MN": "Minnesota", "MS": "Mississippi", "MO": "Missouri", "MT": "Montana",
    "NE": "Nebraska", "NV": "Nevada", "NH": "New Hampshire", "NJ": "New Jersey",
    "NM": "New Mexico", "NY": "New York", "NC": "North Carolina", "ND": "North Dakota",
    "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon", "PA": "Pennsylvania", "RI": "Rhode Island",
    "SC": "South Carolina", "SD": "South Dakota", "TN": "Tennessee", "TX": "Texas",
    "UT": "Utah", "VT": "Vermont", "VA": "Virginia", "WA": "Washington",
    "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming", "PR": "Puerto Rico",
}  # fmt: skip
CA_PROVINCES = {
    "AB": "Alberta", "BC": "British Columbia", "MB": "Manitoba", "NB": "New Brunswick",
    "NL": "Newfoundland and Labrador", "NS": "Nova Scotia", "ON": "Ontario",
    "PE": "Prince Edward Island", "QC": "Quebec", "SK": "Saskatchewan",
    "NT": "Northwest Territories", "NU": "Nunavut", "YT": "Yukon",
}  # fmt: skip
REGIONS = {
    **{code.casefold(): ("US", code) for code in US_STATES},
    **{name.casefold(): ("US", name) for name in US_STATES.values()},
    **{code.casefold(): ("CA", code) for code in CA_PROVINCES},
    **{name.casefold(): ("CA", name) for name in CA_PROVINCES.values()},
}
POSTAL_CODES = {
    "US": r"\d{5}(?:-\d{4})?",
    "CA": r"[A-Za-z]\d[A-Za-z] ?\d[A-Za-z]\d",
}
# A part that could name a town: letters, spaces, dots, apostrophes and hyphens only.
TOWN = re.compile(r"[^\W\d_][^\W\d_ .'’-]*(?:[ .'’-]+[^\W\d_][^\W\d_'’-]*)*\.?")


def _region_and_postal(part, country):
    """("FL", "34236") from "FL 34236"; (region, "") from "Florida"; None if neither."""
    for region_country, pattern in POSTAL_CODES.items():
        if country and country != region_country:
            continue
        match = re.fullmatch(rf"(?P<region>.+?)\s+(?P<postal>{pattern})", part)
        if match and REGIONS.get(match["region"].strip().casefold(), ("",))[0] == region_country:
            return region_country, match["region"].strip(), match["postal"].upper()
    found = REGIONS.get(part.casefold())
    if found and (not country or found[0] == country):
        return found[0], part, ""
    return None


def postal_address(text):
    """The schema.org PostalAddress dict for a typed address; None when nothing in it is
    recognised (the caller then gives the address as plain text)."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    parts = [part.strip() for line in lines for part in line.split(",") if part.strip()]
    if not parts:
        return None
    address = {}
    country = COUNTRIES.get(parts[-1].casefold().rstrip("."))
    if country is None:
        country = COUNTRIES.get(parts[-1].casefold())
    if country:
        address["addressCountry"] = country
        parts = parts[:-1]
    if parts:
        # "Chicago IL 60606", typed without the comma: the town, then a two-letter code.
        match = re.fullmatch(r"(?P<town>.+?)\s+(?P<rest>[A-Za-z]{2}\s+\S+(?:\s\S+)?)", parts[-1])
        if match and _region_and_postal(match["rest"], country) and TOWN.fullmatch(match["town"]):
            parts[-1:] = [match["town"], match["rest"]]
        found = _region_and_postal(parts[-1], country)
        if found:
            region_country, region, postal = found
            address.setdefault("addressCountry", region_country)
            address["addressRegion"] = region
            if postal:
                address["postalCode"] = postal
            parts = parts[:-1]
        town_known = found or (country and len(parts) == 1)
        if parts and town_known and TOWN.fullmatch(parts[-1]):
            address["addressLocality"] = parts[-1]
            parts = parts[:-1]
    if not address:
        return None
    if parts and "addressLocality" in address:
        # What comes before the town is the street (and building) as typed.
        address["streetAddress"] = ", ".join(parts)
    order = ("streetAddress", "addressLocality", "addressRegion", "postalCode", "addressCountry")
    return {"@type": "PostalAddress", **{key: address[key] for key in order if key in address}}
