DELETE FROM treatment_specialties;
DELETE FROM treatments;
DELETE FROM specialties;
