-- No business rule in SQL: the effect a final records is worked out in Rust
-- (hpp_store::EffectKind) and inserted by the merge statement itself (a data-modifying CTE
-- feeding the effect's INSERT), so the trigger that repeated that rule in plpgsql goes, and
-- with it the references the session row kept only for the trigger.
DROP TRIGGER hpp_session_final_effect ON hpp_session;
DROP TRIGGER hpp_session_first_final_effect ON hpp_session;
DROP FUNCTION hpp_record_final_effect();
ALTER TABLE hpp_session
    DROP COLUMN authorization_token,
    DROP COLUMN order_id,
    DROP COLUMN klarna_reference;
