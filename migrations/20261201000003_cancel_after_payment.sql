-- Cancelling after payment (issue: payments as real shops run them). An
-- order that is authorized, reserved, paid or confirmed can still be
-- cancelled, until its confirmation is sent: it goes to `cancelling`, whose
-- step (`cancel_payment`) voids the hold or refunds the charge, puts back
-- any stock the order holds, and ends it `cancelled`.
ALTER TYPE order_status ADD VALUE IF NOT EXISTS 'cancelling';

-- The order chart (shared/src/orders/status.rs), with the cancel. A move
-- that takes the stock (paid → confirmed, authorized → reserved) marks the
-- order as holding it, whatever code made the move: a worker of the version
-- before this one, still running during a rolling deploy, does not set
-- `stock_reserved` itself, and a cancel must know to put the stock back.
CREATE OR REPLACE FUNCTION orders_refuse_illegal_transition() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = OLD.status THEN
        RETURN NEW;
    END IF;
    IF (OLD.status::text, NEW.status::text) IN (('paid', 'confirmed'), ('authorized', 'reserved')) THEN
        NEW.stock_reserved := true;
    END IF;
    IF (OLD.status::text, NEW.status::text) IN (
        ('pending', 'paid'), ('pending', 'failed'), ('pending', 'cancelled'), ('pending', 'refunding'),
        ('pending', 'authorized'), ('pending', 'voiding'),
        ('paid', 'confirmed'), ('paid', 'refunding'), ('paid', 'cancelling'),
        ('authorized', 'reserved'), ('authorized', 'voiding'), ('authorized', 'cancelling'),
        ('reserved', 'confirmed'), ('reserved', 'voiding'), ('reserved', 'cancelling'),
        ('confirmed', 'completed'), ('confirmed', 'cancelling'),
        ('refunding', 'refunded'),
        ('voiding', 'failed'),
        ('cancelling', 'cancelled')
    ) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'an order cannot go from % to %', OLD.status, NEW.status
        USING ERRCODE = 'check_violation';
END
$$;
