DROP TABLE IF EXISTS screening_matches;
DROP TABLE IF EXISTS exclusions;
DROP TABLE IF EXISTS exclusion_sources;
DROP TABLE IF EXISTS nppes_npis;
