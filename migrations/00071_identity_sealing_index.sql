-- Start-up work that stays small at a million children: the rows still in
-- plaintext (package child, SealLegacy) are found through a partial index
-- that holds only them, instead of a scan of every identity at every start.

-- +goose Up
CREATE INDEX child_identities_unsealed ON child_identities (child_id)
WHERE sealed IS NULL AND (given_name IS NOT NULL OR family_name IS NOT NULL OR other_names IS NOT NULL
  OR date_of_birth IS NOT NULL OR contact IS NOT NULL OR documents <> '[]'::jsonb);

-- +goose Down
DROP INDEX child_identities_unsealed;
