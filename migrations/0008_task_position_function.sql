-- Added by hand: the position keys of the manual task order (a task's `position` among its
-- siblings; moving a task writes only that row). task_position_between(a, b) is an exact port of
-- generateKeyBetween(a, b) from the npm package fractional-indexing 4.0.0 (rocicorp, CC0-1.0) with
-- its default alphabets: digits 0-9A-Za-z (base 62), integer heads A-Z (negative) and a-z
-- (positive). test/integration/position-keys.test.ts holds it to the library, key for key.
--
-- Why in SQL: a move computes its key from the neighbours' keys inside the statement that writes
-- it. So a move is one Neon round trip, fits in a batched transaction, and runs under the user's
-- row lock: two concurrent moves into the same gap can never produce the same key.
--
-- Null means "no bound": (null, null) is the first key 'a0', (a, null) sorts after a, (null, b)
-- before b. Strings are compared with COLLATE "C" (bytewise, as JavaScript compares these ASCII
-- keys), so the database's default collation never matters. Where the library throws (a key that
-- is empty, has a bad head, is shorter than its integer part, is the smallest integer or ends in a
-- trailing zero; a = b) the function raises SQLSTATE 22023 (invalid_parameter_value). It is
-- stricter than the library in two places, on purpose:
--   * a > b raises: the library swaps the bounds, but a caller passing them reversed has a bug.
--   * a character outside 0-9A-Za-z raises: the library reads one as the digit 0 (or as
--     "undefined" beyond Latin-1) and returns a key that need not sort between a and b.
CREATE FUNCTION "task_position_integer_length"(head text) RETURNS integer
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
-- getIntegerLength: how long the integer part that starts with this head is. 'Z' and 'a' start the
-- shortest (2 characters: 'Z0'..'Zz', 'a0'..'az'), 'A' and 'z' the longest (27 characters).
DECLARE
  heads CONSTANT text := 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  i CONSTANT integer := strpos(heads, head COLLATE "C") - 1;
BEGIN
  -- (strpos finds '' at 1: the length check keeps an empty head out.)
  IF head IS NULL OR length(head) <> 1 OR i < 0 THEN
    RAISE EXCEPTION 'invalid position key head: %', quote_literal(head)
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  RETURN CASE WHEN i < 26 THEN 26 - i + 1 ELSE i - 26 + 2 END;
END
$$;--> statement-breakpoint
CREATE FUNCTION "task_position_increment_integer"(x text) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
-- incrementInteger: the integer part after x ('a0' -> 'a1', 'Zz' -> 'a0', 'az' -> 'b00',
-- 'Yzz' -> 'Z0'), or null after the largest one ('z' and 26 times 'z').
DECLARE
  digits CONSTANT text := '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  heads CONSTANT text := 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  head CONSTANT text := left(x, 1);
  trailing_digits text := '';
  d integer;
  head_index integer;
  h text;
  length_delta integer;
BEGIN
  IF length(x) <> task_position_integer_length(head) THEN
    RAISE EXCEPTION 'invalid integer part of position key: %', quote_literal(x)
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  -- Right to left, turn maxed-out digits into zeros (`trailing_digits`) until one can be raised.
  FOR pos IN REVERSE length(x)..2 LOOP
    d := strpos(digits, substr(x, pos, 1) COLLATE "C") - 1; -- the digit's value
    IF d = 61 THEN
      trailing_digits := '0' || trailing_digits;
    ELSE
      -- digit d + 1 in place of digit d
      RETURN head || substr(x, 2, pos - 2) || substr(digits, d + 2, 1) || trailing_digits;
    END IF;
  END LOOP;
  -- A carry out of every digit: the head moves one step up, and the digits (`trailing_digits`, all
  -- zeros now) grow or shrink to the new head's length.
  head_index := strpos(heads, head COLLATE "C") - 1;
  IF head_index = 51 THEN
    RETURN NULL; -- already the largest integer
  END IF;
  h := substr(heads, head_index + 2, 1);
  length_delta := task_position_integer_length(h) - task_position_integer_length(head);
  RETURN h || CASE
    WHEN length_delta > 0 THEN trailing_digits || '0'
    WHEN length_delta < 0 THEN substr(trailing_digits, 2)
    ELSE trailing_digits
  END;
END
$$;--> statement-breakpoint
CREATE FUNCTION "task_position_decrement_integer"(x text) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
-- decrementInteger: the integer part before x ('a1' -> 'a0', 'a0' -> 'Zz', 'b00' -> 'az',
-- 'Z0' -> 'Yzz'), or null before the smallest one ('A' and 26 times '0').
DECLARE
  digits CONSTANT text := '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  heads CONSTANT text := 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  head CONSTANT text := left(x, 1);
  trailing_digits text := '';
  d integer;
  head_index integer;
  h text;
  length_delta integer;
BEGIN
  IF length(x) <> task_position_integer_length(head) THEN
    RAISE EXCEPTION 'invalid integer part of position key: %', quote_literal(x)
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  -- Right to left, turn underflowed digits into 'z' (`trailing_digits`) until one can be lowered.
  FOR pos IN REVERSE length(x)..2 LOOP
    d := strpos(digits, substr(x, pos, 1) COLLATE "C") - 1; -- the digit's value
    IF d = 0 THEN
      trailing_digits := 'z' || trailing_digits;
    ELSE
      -- digit d - 1 in place of digit d
      RETURN head || substr(x, 2, pos - 2) || substr(digits, d, 1) || trailing_digits;
    END IF;
  END LOOP;
  -- A borrow out of every digit: the head moves one step down, and the digits (`trailing_digits`,
  -- all 'z' now) grow or shrink to the new head's length.
  head_index := strpos(heads, head COLLATE "C") - 1;
  IF head_index = 0 THEN
    RETURN NULL; -- already the smallest integer
  END IF;
  h := substr(heads, head_index, 1);
  length_delta := task_position_integer_length(h) - task_position_integer_length(head);
  RETURN h || CASE
    WHEN length_delta > 0 THEN trailing_digits || 'z'
    WHEN length_delta < 0 THEN substr(trailing_digits, 2)
    ELSE trailing_digits
  END;
END
$$;--> statement-breakpoint
CREATE FUNCTION "task_position_midpoint"(a text, b text) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
-- midpoint: the shortest fraction strictly between the fractions a and b. a is '' for "no lower
-- bound", b null for "no upper bound". The library recurses; its recursion is a loop here (the
-- common prefix can only be removed on the first pass, after it only `b := null` recurses).
DECLARE
  digits CONSTANT text := '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  prefix text := '';
  n integer := 0;
  digit_a integer;
  digit_b integer;
BEGIN
  IF a IS NULL THEN
    RAISE EXCEPTION 'task_position_midpoint: a is null (the empty string is no lower bound)'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF b IS NOT NULL AND a COLLATE "C" >= b THEN
    RAISE EXCEPTION 'position fraction % is not below %', quote_literal(a), quote_literal(b)
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF right(a, 1) = '0' OR right(b, 1) = '0' THEN
    RAISE EXCEPTION 'position fraction % or % ends in a trailing zero',
      quote_literal(a), quote_literal(b)
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF b IS NOT NULL THEN
    -- Remove the longest common prefix, reading a padded with zeros (b cannot end first).
    WHILE coalesce(nullif(substr(a, n + 1, 1), ''), '0') = substr(b, n + 1, 1) COLLATE "C" LOOP
      n := n + 1;
    END LOOP;
    prefix := left(b, n);
    a := substr(a, n + 1);
    b := substr(b, n + 1);
  END IF;
  LOOP
    -- The first digits (or the lack of one) differ.
    digit_a := CASE WHEN a = '' THEN 0 ELSE strpos(digits, left(a, 1) COLLATE "C") - 1 END;
    digit_b := CASE WHEN b IS NULL THEN 62 ELSE strpos(digits, left(b, 1) COLLATE "C") - 1 END;
    IF digit_b - digit_a > 1 THEN
      -- Math.round(0.5 * (digit_a + digit_b)): halves round up.
      RETURN prefix || substr(digits, (digit_a + digit_b + 1) / 2 + 1, 1);
    ELSIF b IS NOT NULL AND length(b) > 1 THEN
      -- Consecutive first digits, and b goes on: b's first digit alone is between.
      RETURN prefix || left(b, 1);
    ELSE
      -- b is null or one digit, the one after a's first: keep a's first digit and find a fraction
      -- after the rest of a ('4z', '5': '4', then after 'z': 'z', then after '': 'V', so '4zV').
      prefix := prefix || substr(digits, digit_a + 1, 1);
      a := substr(a, 2);
      b := NULL;
    END IF;
  END LOOP;
END
$$;--> statement-breakpoint
CREATE FUNCTION "task_position_between"(a text, b text) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
-- generateKeyBetween(a, b): a key strictly between a and b; null for no bound. Not STRICT: nulls
-- are bounds. a >= b raises (the library swaps a > b; reversed bounds are the caller's bug).
DECLARE
  smallest_integer CONSTANT text := 'A' || repeat('0', 26);
  k text;
  ia text;
  fa text;
  ib text;
  fb text;
  i text;
BEGIN
  -- validateOrderKey, for each bound that is given.
  FOREACH k IN ARRAY ARRAY[a, b] LOOP
    CONTINUE WHEN k IS NULL;
    IF k COLLATE "C" !~ '^[0-9A-Za-z]+$' THEN
      RAISE EXCEPTION 'invalid position key %: empty, or a character outside 0-9A-Za-z',
        quote_literal(k)
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF k COLLATE "C" = smallest_integer THEN
      RAISE EXCEPTION 'invalid position key %: the smallest integer is no key', quote_literal(k)
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- (This raises for a head that is not a letter.)
    IF length(k) < task_position_integer_length(left(k, 1)) THEN
      RAISE EXCEPTION 'invalid position key %: shorter than its integer part', quote_literal(k)
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF length(k) > task_position_integer_length(left(k, 1)) AND right(k, 1) = '0' THEN
      RAISE EXCEPTION 'invalid position key %: its fraction ends in a trailing zero',
        quote_literal(k)
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
  END LOOP;
  IF a COLLATE "C" >= b THEN
    RAISE EXCEPTION 'position key % is not below %: no key is between them',
      quote_literal(a), quote_literal(b)
      USING ERRCODE = 'invalid_parameter_value';
  END IF;

  IF a IS NULL THEN
    IF b IS NULL THEN
      RETURN 'a0'; -- the shortest positive head and the digit zero
    END IF;
    ib := left(b, task_position_integer_length(left(b, 1)));
    fb := substr(b, length(ib) + 1);
    IF ib COLLATE "C" = smallest_integer THEN
      RETURN ib || task_position_midpoint('', fb);
    END IF;
    IF ib COLLATE "C" < b THEN
      RETURN ib;
    END IF;
    i := task_position_decrement_integer(ib);
    IF i IS NULL THEN -- (unreachable: only the smallest integer has none, handled above)
      RAISE EXCEPTION 'no position key is before %', quote_literal(b)
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN i;
  END IF;

  ia := left(a, task_position_integer_length(left(a, 1)));
  fa := substr(a, length(ia) + 1);
  IF b IS NULL THEN
    i := task_position_increment_integer(ia);
    RETURN coalesce(i, ia || task_position_midpoint(fa, NULL));
  END IF;

  ib := left(b, task_position_integer_length(left(b, 1)));
  fb := substr(b, length(ib) + 1);
  IF ia COLLATE "C" = ib THEN
    RETURN ia || task_position_midpoint(fa, fb);
  END IF;
  i := task_position_increment_integer(ia);
  IF i IS NULL THEN -- (unreachable: ia is the largest integer, so b cannot have another one)
    RAISE EXCEPTION 'no position key is after %', quote_literal(a)
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF i COLLATE "C" < b THEN
    RETURN i;
  END IF;
  RETURN ia || task_position_midpoint(fa, NULL);
END
$$;
