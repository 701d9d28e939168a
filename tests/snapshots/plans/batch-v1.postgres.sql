-- the batch plan of v1-rulebook.yaml as of 2026-06-30, in postgres; refresh: CREDO_UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/test_sql_portability.py
-- rows_sql
WITH rules(rule_no, category, kind) AS (
  SELECT
    *
  FROM (VALUES
    (0, 'tax.late_payment', 'person'),
    (0, 'tax.late_payment', 'organization'),
    (1, 'tax.evasion', 'person'),
    (1, 'tax.evasion', 'organization'),
    (2, 'loan.default', 'person'),
    (2, 'loan.default', 'organization'),
    (3, 'loan.repaid_on_time', 'person'),
    (3, 'loan.repaid_on_time', 'organization'),
    (4, 'court.judgment_default', 'person'),
    (4, 'court.judgment_default', 'organization'),
    (5, 'traffic.violation', 'person'),
    (6, 'market.unlicensed_operation', 'organization'),
    (7, 'market.consumer_complaint_upheld', 'organization'),
    (8, 'platform.fraud_adjudicated', 'person'),
    (8, 'platform.fraud_adjudicated', 'organization'),
    (9, 'civic.volunteer_service', 'person'),
    (10, 'civic.blood_donation', 'person')) AS _values
)
SELECT
  c.file_no,
  c.row_no,
  c.source,
  c.record_id,
  c.ka,
  c.kb,
  c.pre_reason,
  c.post_reason,
  c.pre_reason IS NULL AND c.post_reason IS NULL AS accepted,
  HASH(c.source, c.record_id) AS rh,
  r.rule_no,
  c.occ,
  c.status = 'active' AND c.occ <= 20634 AND NOT r.rule_no IS NULL AS valid,
  CAST(CASE r.rule_no
    WHEN 0
    THEN -20
    WHEN 1
    THEN -5
    WHEN 2
    THEN -1
    WHEN 3
    THEN 2
    WHEN 4
    THEN -8
    WHEN 5
    THEN CASE WHEN c.amount >= 100000.0 THEN -30 WHEN c.amount >= 10000.0 THEN -25 ELSE -1 END
    WHEN 6
    THEN -2
    WHEN 7
    THEN -2
    WHEN 8
    THEN -10
    WHEN 9
    THEN 1
    WHEN 10
    THEN 1
  END AS BIGINT) AS base,
  CASE r.rule_no
    WHEN 0
    THEN c.occ + 90
    WHEN 1
    THEN CASE WHEN c.res + 0 < c.occ + 182 THEN c.res + 0 ELSE c.occ + 182 END
    WHEN 2
    THEN c.occ + 182
    WHEN 3
    THEN c.occ + 1095
    WHEN 4
    THEN c.occ + 180
    WHEN 5
    THEN CASE WHEN c.res + 0 < c.occ + 540 THEN c.res + 0 ELSE c.occ + 540 END
    WHEN 6
    THEN c.occ + 540
    WHEN 7
    THEN CASE WHEN c.res + 0 < c.occ + 1095 THEN c.res + 0 ELSE c.occ + 1095 END
    WHEN 8
    THEN CASE WHEN c.res + 180 < c.occ + 365 THEN c.res + 180 ELSE c.occ + 365 END
    WHEN 9
    THEN c.occ + 182
    WHEN 10
    THEN c.occ + 182
  END AS ends,
  COALESCE(
    c.occ > CASE r.rule_no
      WHEN 5
      THEN 19729
      WHEN 6
      THEN 19729
      WHEN 7
      THEN 19174
      WHEN 8
      THEN 19539
    END,
    FALSE
  ) AS in_window,
  CASE
    WHEN NOT c.pre_reason IS NULL OR NOT c.post_reason IS NULL
    THEN ARRAY[
      CAST(c.subject_id AS TEXT),
      CAST(c.subject_kind AS TEXT),
      CAST(c.category AS TEXT),
      CAST(c.raw_occurred_on AS TEXT),
      CAST(c.raw_amount AS TEXT),
      CAST(c.raw_resolved_on AS TEXT),
      CAST(c.raw_status AS TEXT),
      CAST(c.reference AS TEXT)
    ]
  END AS raw
FROM checked AS c
LEFT JOIN rules AS r
  ON r.category = c.category AND r.kind = c.subject_kind

-- subjects_sql
WITH dup AS (
  SELECT
    rh
  FROM batch_rows
  WHERE
    accepted
  GROUP BY
    rh
  HAVING
    COUNT(*) > 1
), winners AS (
  SELECT
    file_no,
    row_no
  FROM (
    SELECT
      file_no,
      row_no,
      ok,
      ROW_NUMBER() OVER (
        PARTITION BY source, record_id
        ORDER BY ok DESC NULLS LAST, file_no DESC NULLS LAST, row_no DESC NULLS LAST
      ) AS version_rank
    FROM (
      SELECT
        *,
        accepted
        AND (
          CASE
            WHEN subject_kind = 'organization'
            THEN CASE
              WHEN (
                CASE (
                    11 - (
                      (
                        CASE
                          WHEN SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 1 FOR 1) BETWEEN '0' AND '9'
                          THEN ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 1 FOR 1)) - 48
                          ELSE ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 1 FOR 1)) - 55
                        END
                      ) * 3 + (
                        CASE
                          WHEN SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 2 FOR 1) BETWEEN '0' AND '9'
                          THEN ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 2 FOR 1)) - 48
                          ELSE ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 2 FOR 1)) - 55
                        END
                      ) * 7 + (
                        CASE
                          WHEN SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 3 FOR 1) BETWEEN '0' AND '9'
                          THEN ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 3 FOR 1)) - 48
                          ELSE ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 3 FOR 1)) - 55
                        END
                      ) * 9 + (
                        CASE
                          WHEN SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 4 FOR 1) BETWEEN '0' AND '9'
                          THEN ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 4 FOR 1)) - 48
                          ELSE ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 4 FOR 1)) - 55
                        END
                      ) * 10 + (
                        CASE
                          WHEN SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 5 FOR 1) BETWEEN '0' AND '9'
                          THEN ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 5 FOR 1)) - 48
                          ELSE ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 5 FOR 1)) - 55
                        END
                      ) * 5 + (
                        CASE
                          WHEN SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 6 FOR 1) BETWEEN '0' AND '9'
                          THEN ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 6 FOR 1)) - 48
                          ELSE ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 6 FOR 1)) - 55
                        END
                      ) * 8 + (
                        CASE
                          WHEN SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 7 FOR 1) BETWEEN '0' AND '9'
                          THEN ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 7 FOR 1)) - 48
                          ELSE ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 7 FOR 1)) - 55
                        END
                      ) * 4 + (
                        CASE
                          WHEN SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 8 FOR 1) BETWEEN '0' AND '9'
                          THEN ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 8 FOR 1)) - 48
                          ELSE ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 8 FOR 1)) - 55
                        END
                      ) * 2
                    ) % 11
                  )
                  WHEN 10
                  THEN 'X'
                  WHEN 11
                  THEN '0'
                  ELSE CAST((
                    11 - (
                      (
                        CASE
                          WHEN SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 1 FOR 1) BETWEEN '0' AND '9'
                          THEN ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 1 FOR 1)) - 48
                          ELSE ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 1 FOR 1)) - 55
                        END
                      ) * 3 + (
                        CASE
                          WHEN SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 2 FOR 1) BETWEEN '0' AND '9'
                          THEN ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 2 FOR 1)) - 48
                          ELSE ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 2 FOR 1)) - 55
                        END
                      ) * 7 + (
                        CASE
                          WHEN SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 3 FOR 1) BETWEEN '0' AND '9'
                          THEN ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 3 FOR 1)) - 48
                          ELSE ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 3 FOR 1)) - 55
                        END
                      ) * 9 + (
                        CASE
                          WHEN SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 4 FOR 1) BETWEEN '0' AND '9'
                          THEN ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 4 FOR 1)) - 48
                          ELSE ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 4 FOR 1)) - 55
                        END
                      ) * 10 + (
                        CASE
                          WHEN SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 5 FOR 1) BETWEEN '0' AND '9'
                          THEN ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 5 FOR 1)) - 48
                          ELSE ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 5 FOR 1)) - 55
                        END
                      ) * 5 + (
                        CASE
                          WHEN SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 6 FOR 1) BETWEEN '0' AND '9'
                          THEN ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 6 FOR 1)) - 48
                          ELSE ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 6 FOR 1)) - 55
                        END
                      ) * 8 + (
                        CASE
                          WHEN SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 7 FOR 1) BETWEEN '0' AND '9'
                          THEN ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 7 FOR 1)) - 48
                          ELSE ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 7 FOR 1)) - 55
                        END
                      ) * 4 + (
                        CASE
                          WHEN SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 8 FOR 1) BETWEEN '0' AND '9'
                          THEN ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 8 FOR 1)) - 48
                          ELSE ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 8 FOR 1)) - 55
                        END
                      ) * 2
                    ) % 11
                  ) AS TEXT)
                END
              ) <> SUBSTRING(subject_id FROM 17 FOR 1)
              THEN 'organisation identifier: embedded organisation code fails its check character'
              WHEN SUBSTRING('0123456789ABCDEFGHJKLMNPQRTUWXY' FROM (
                31 - (
                  (
                    POSITION(SUBSTRING(subject_id FROM 1 FOR 1) IN '0123456789ABCDEFGHJKLMNPQRTUWXY') - 1
                  ) * 1 + (
                    POSITION(SUBSTRING(subject_id FROM 2 FOR 1) IN '0123456789ABCDEFGHJKLMNPQRTUWXY') - 1
                  ) * 3 + (
                    POSITION(SUBSTRING(subject_id FROM 3 FOR 1) IN '0123456789ABCDEFGHJKLMNPQRTUWXY') - 1
                  ) * 9 + (
                    POSITION(SUBSTRING(subject_id FROM 4 FOR 1) IN '0123456789ABCDEFGHJKLMNPQRTUWXY') - 1
                  ) * 27 + (
                    POSITION(SUBSTRING(subject_id FROM 5 FOR 1) IN '0123456789ABCDEFGHJKLMNPQRTUWXY') - 1
                  ) * 19 + (
                    POSITION(SUBSTRING(subject_id FROM 6 FOR 1) IN '0123456789ABCDEFGHJKLMNPQRTUWXY') - 1
                  ) * 26 + (
                    POSITION(SUBSTRING(subject_id FROM 7 FOR 1) IN '0123456789ABCDEFGHJKLMNPQRTUWXY') - 1
                  ) * 16 + (
                    POSITION(SUBSTRING(subject_id FROM 8 FOR 1) IN '0123456789ABCDEFGHJKLMNPQRTUWXY') - 1
                  ) * 17 + (
                    POSITION(SUBSTRING(subject_id FROM 9 FOR 1) IN '0123456789ABCDEFGHJKLMNPQRTUWXY') - 1
                  ) * 20 + (
                    POSITION(SUBSTRING(subject_id FROM 10 FOR 1) IN '0123456789ABCDEFGHJKLMNPQRTUWXY') - 1
                  ) * 29 + (
                    POSITION(SUBSTRING(subject_id FROM 11 FOR 1) IN '0123456789ABCDEFGHJKLMNPQRTUWXY') - 1
                  ) * 25 + (
                    POSITION(SUBSTRING(subject_id FROM 12 FOR 1) IN '0123456789ABCDEFGHJKLMNPQRTUWXY') - 1
                  ) * 13 + (
                    POSITION(SUBSTRING(subject_id FROM 13 FOR 1) IN '0123456789ABCDEFGHJKLMNPQRTUWXY') - 1
                  ) * 8 + (
                    POSITION(SUBSTRING(subject_id FROM 14 FOR 1) IN '0123456789ABCDEFGHJKLMNPQRTUWXY') - 1
                  ) * 24 + (
                    POSITION(SUBSTRING(subject_id FROM 15 FOR 1) IN '0123456789ABCDEFGHJKLMNPQRTUWXY') - 1
                  ) * 10 + (
                    POSITION(SUBSTRING(subject_id FROM 16 FOR 1) IN '0123456789ABCDEFGHJKLMNPQRTUWXY') - 1
                  ) * 30 + (
                    POSITION(SUBSTRING(subject_id FROM 17 FOR 1) IN '0123456789ABCDEFGHJKLMNPQRTUWXY') - 1
                  ) * 28
                ) % 31
              ) % 31 + 1 FOR 1) <> SUBSTRING(subject_id FROM 18 FOR 1)
              THEN 'organisation identifier fails its check character'
            END
            ELSE CASE
              WHEN SUBSTRING(SUBSTRING(subject_id FROM 7 FOR 8) FROM 1 FOR 4) = '0000'
              OR TRY_STRPTIME(SUBSTRING(subject_id FROM 7 FOR 8), '%Y%m%d') IS NULL
              THEN 'person identifier has a birth date that does not exist'
              WHEN SUBSTRING('10X98765432' FROM (
                (
                  ASCII(SUBSTRING(subject_id FROM 1 FOR 1)) - 48
                ) * 7 + (
                  ASCII(SUBSTRING(subject_id FROM 2 FOR 1)) - 48
                ) * 9 + (
                  ASCII(SUBSTRING(subject_id FROM 3 FOR 1)) - 48
                ) * 10 + (
                  ASCII(SUBSTRING(subject_id FROM 4 FOR 1)) - 48
                ) * 5 + (
                  ASCII(SUBSTRING(subject_id FROM 5 FOR 1)) - 48
                ) * 8 + (
                  ASCII(SUBSTRING(subject_id FROM 6 FOR 1)) - 48
                ) * 4 + (
                  ASCII(SUBSTRING(subject_id FROM 7 FOR 1)) - 48
                ) * 2 + (
                  ASCII(SUBSTRING(subject_id FROM 8 FOR 1)) - 48
                ) * 1 + (
                  ASCII(SUBSTRING(subject_id FROM 9 FOR 1)) - 48
                ) * 6 + (
                  ASCII(SUBSTRING(subject_id FROM 10 FOR 1)) - 48
                ) * 3 + (
                  ASCII(SUBSTRING(subject_id FROM 11 FOR 1)) - 48
                ) * 7 + (
                  ASCII(SUBSTRING(subject_id FROM 12 FOR 1)) - 48
                ) * 9 + (
                  ASCII(SUBSTRING(subject_id FROM 13 FOR 1)) - 48
                ) * 10 + (
                  ASCII(SUBSTRING(subject_id FROM 14 FOR 1)) - 48
                ) * 5 + (
                  ASCII(SUBSTRING(subject_id FROM 15 FOR 1)) - 48
                ) * 8 + (
                  ASCII(SUBSTRING(subject_id FROM 16 FOR 1)) - 48
                ) * 4 + (
                  ASCII(SUBSTRING(subject_id FROM 17 FOR 1)) - 48
                ) * 2
              ) % 11 + 1 FOR 1) <> SUBSTRING(subject_id FROM 18 FOR 1)
              THEN 'person identifier fails its check character'
            END
          END
        ) IS NULL AS ok
      FROM (
        SELECT
          *,
          CASE
            WHEN kb % 2 = 0
            THEN LPAD(CAST(ka AS TEXT), 17, '0') || CHR(  CAST(DIV(kb, 2) AS INT))
            ELSE SUBSTRING('0123456789ABCDEFGHJKLMNPQRTUWXY' FROM CAST((
              DIV(ka, 852891037441)
            ) % 31 AS INT) + 1 FOR 1) || SUBSTRING('0123456789ABCDEFGHJKLMNPQRTUWXY' FROM CAST((
              DIV(ka, 27512614111)
            ) % 31 AS INT) + 1 FOR 1) || SUBSTRING('0123456789ABCDEFGHJKLMNPQRTUWXY' FROM CAST((
              DIV(ka, 887503681)
            ) % 31 AS INT) + 1 FOR 1) || SUBSTRING('0123456789ABCDEFGHJKLMNPQRTUWXY' FROM CAST((
              DIV(ka, 28629151)
            ) % 31 AS INT) + 1 FOR 1) || SUBSTRING('0123456789ABCDEFGHJKLMNPQRTUWXY' FROM CAST((
              DIV(ka, 923521)
            ) % 31 AS INT) + 1 FOR 1) || SUBSTRING('0123456789ABCDEFGHJKLMNPQRTUWXY' FROM CAST((
              DIV(ka, 29791)
            ) % 31 AS INT) + 1 FOR 1) || SUBSTRING('0123456789ABCDEFGHJKLMNPQRTUWXY' FROM CAST((
              DIV(ka, 961)
            ) % 31 AS INT) + 1 FOR 1) || SUBSTRING('0123456789ABCDEFGHJKLMNPQRTUWXY' FROM CAST((
              DIV(ka, 31)
            ) % 31 AS INT) + 1 FOR 1) || SUBSTRING('0123456789ABCDEFGHJKLMNPQRTUWXY' FROM CAST((
              DIV(ka, 1)
            ) % 31 AS INT) + 1 FOR 1) || SUBSTRING('0123456789ABCDEFGHJKLMNPQRTUWXY' FROM CAST((
              DIV(DIV((
                kb - 1
              ), 2), 852891037441)
            ) % 31 AS INT) + 1 FOR 1) || SUBSTRING('0123456789ABCDEFGHJKLMNPQRTUWXY' FROM CAST((
              DIV(DIV((
                kb - 1
              ), 2), 27512614111)
            ) % 31 AS INT) + 1 FOR 1) || SUBSTRING('0123456789ABCDEFGHJKLMNPQRTUWXY' FROM CAST((
              DIV(DIV((
                kb - 1
              ), 2), 887503681)
            ) % 31 AS INT) + 1 FOR 1) || SUBSTRING('0123456789ABCDEFGHJKLMNPQRTUWXY' FROM CAST((
              DIV(DIV((
                kb - 1
              ), 2), 28629151)
            ) % 31 AS INT) + 1 FOR 1) || SUBSTRING('0123456789ABCDEFGHJKLMNPQRTUWXY' FROM CAST((
              DIV(DIV((
                kb - 1
              ), 2), 923521)
            ) % 31 AS INT) + 1 FOR 1) || SUBSTRING('0123456789ABCDEFGHJKLMNPQRTUWXY' FROM CAST((
              DIV(DIV((
                kb - 1
              ), 2), 29791)
            ) % 31 AS INT) + 1 FOR 1) || SUBSTRING('0123456789ABCDEFGHJKLMNPQRTUWXY' FROM CAST((
              DIV(DIV((
                kb - 1
              ), 2), 961)
            ) % 31 AS INT) + 1 FOR 1) || SUBSTRING('0123456789ABCDEFGHJKLMNPQRTUWXY' FROM CAST((
              DIV(DIV((
                kb - 1
              ), 2), 31)
            ) % 31 AS INT) + 1 FOR 1) || SUBSTRING('0123456789ABCDEFGHJKLMNPQRTUWXY' FROM CAST((
              DIV(DIV((
                kb - 1
              ), 2), 1)
            ) % 31 AS INT) + 1 FOR 1)
          END AS subject_id,
          CASE WHEN kb % 2 = 0 THEN 'person' ELSE 'organization' END AS subject_kind
        FROM batch_rows
        WHERE
          pre_reason IS NULL AND rh IN (
            SELECT
              rh
            FROM dup
          )
      )
    )
  )
  WHERE
    version_rank = 1 AND ok
), repeating AS (
  SELECT
    ka,
    kb,
    rule_no,
    occ,
    base,
    ends,
    accepted,
    COALESCE(
      LAG(occ) OVER (PARTITION BY ka, kb, rule_no ORDER BY occ, source, record_id) > occ - (
        CASE rule_no
          WHEN 0
          THEN 90
          WHEN 1
          THEN 182
          WHEN 2
          THEN 182
          WHEN 3
          THEN 1095
          WHEN 4
          THEN 180
          WHEN 5
          THEN 365
          WHEN 6
          THEN 365
          WHEN 7
          THEN 365
          WHEN 8
          THEN 730
          WHEN 9
          THEN 182
          WHEN 10
          THEN 182
        END
      ),
      FALSE
    ) AS repeated
  FROM (
    SELECT
      *,
      accepted
      AND valid
      AND (
        NOT rh IN (
          SELECT
            rh
          FROM dup
        )
        OR (file_no, row_no) IN (
          SELECT
            (file_no, row_no)
          FROM winners
        )
      ) AS takes_part
    FROM batch_rows
    WHERE
      pre_reason IS NULL
  )
  WHERE
    takes_part AND in_window
), scored AS (
  SELECT
    ka,
    kb,
    accepted,
    rule_no,
    occ,
    base,
    takes_part,
    takes_part AND ends > 20634 AS counting,
    (
      CASE rule_no
        WHEN 0
        THEN 0
        WHEN 1
        THEN 0
        WHEN 2
        THEN 0
        WHEN 3
        THEN 0
        WHEN 4
        THEN 1
        WHEN 5
        THEN 1
        WHEN 6
        THEN 2
        WHEN 7
        THEN 2
        WHEN 8
        THEN 2
        WHEN 9
        THEN 3
        WHEN 10
        THEN 3
      END
    ) AS dim_no,
    (
      CASE
        WHEN (
          CASE rule_no
            WHEN 0
            THEN 1
            WHEN 1
            THEN 0
            WHEN 2
            THEN 1
            WHEN 3
            THEN 0
            WHEN 4
            THEN 1
            WHEN 5
            THEN 0
            WHEN 6
            THEN 1
            WHEN 7
            THEN 1
            WHEN 8
            THEN 1
            WHEN 9
            THEN 1
            WHEN 10
            THEN 1
          END
        ) = 1
        THEN (
          CASE
            WHEN (
              100 * (
                CASE
                  WHEN (
                    CASE rule_no
                      WHEN 0
                      THEN 0
                      WHEN 1
                      THEN 0
                      WHEN 2
                      THEN 0
                      WHEN 3
                      THEN 0
                      WHEN 4
                      THEN 0
                      WHEN 5
                      THEN 1
                      WHEN 6
                      THEN 1
                      WHEN 7
                      THEN 1
                      WHEN 8
                      THEN 1
                      WHEN 9
                      THEN 0
                      WHEN 10
                      THEN 0
                    END
                  ) = 0
                  THEN base
                  WHEN repeated
                  THEN base * (
                    CASE rule_no
                      WHEN 0
                      THEN 1
                      WHEN 1
                      THEN 1
                      WHEN 2
                      THEN 1
                      WHEN 3
                      THEN 1
                      WHEN 4
                      THEN 1
                      WHEN 5
                      THEN 3
                      WHEN 6
                      THEN 2
                      WHEN 7
                      THEN 3
                      WHEN 8
                      THEN 3
                      WHEN 9
                      THEN 1
                      WHEN 10
                      THEN 1
                    END
                  )
                  WHEN (
                    CASE rule_no
                      WHEN 0
                      THEN 0
                      WHEN 1
                      THEN 0
                      WHEN 2
                      THEN 0
                      WHEN 3
                      THEN 0
                      WHEN 4
                      THEN 0
                      WHEN 5
                      THEN 0
                      WHEN 6
                      THEN 0
                      WHEN 7
                      THEN 0
                      WHEN 8
                      THEN 0
                      WHEN 9
                      THEN 0
                      WHEN 10
                      THEN 0
                    END
                  ) = 1
                  THEN 0
                  ELSE base
                END
              ) * (
                occ + (
                  CASE rule_no
                    WHEN 0
                    THEN 90
                    WHEN 1
                    THEN 182
                    WHEN 2
                    THEN 182
                    WHEN 3
                    THEN 1095
                    WHEN 4
                    THEN 180
                    WHEN 5
                    THEN 540
                    WHEN 6
                    THEN 540
                    WHEN 7
                    THEN 1095
                    WHEN 8
                    THEN 365
                    WHEN 9
                    THEN 182
                    WHEN 10
                    THEN 182
                  END
                ) - 20634
              )
            ) < 0
            THEN -(
              DIV(
                (
                  2 * ABS(
                    100 * (
                      CASE
                        WHEN (
                          CASE rule_no
                            WHEN 0
                            THEN 0
                            WHEN 1
                            THEN 0
                            WHEN 2
                            THEN 0
                            WHEN 3
                            THEN 0
                            WHEN 4
                            THEN 0
                            WHEN 5
                            THEN 1
                            WHEN 6
                            THEN 1
                            WHEN 7
                            THEN 1
                            WHEN 8
                            THEN 1
                            WHEN 9
                            THEN 0
                            WHEN 10
                            THEN 0
                          END
                        ) = 0
                        THEN base
                        WHEN repeated
                        THEN base * (
                          CASE rule_no
                            WHEN 0
                            THEN 1
                            WHEN 1
                            THEN 1
                            WHEN 2
                            THEN 1
                            WHEN 3
                            THEN 1
                            WHEN 4
                            THEN 1
                            WHEN 5
                            THEN 3
                            WHEN 6
                            THEN 2
                            WHEN 7
                            THEN 3
                            WHEN 8
                            THEN 3
                            WHEN 9
                            THEN 1
                            WHEN 10
                            THEN 1
                          END
                        )
                        WHEN (
                          CASE rule_no
                            WHEN 0
                            THEN 0
                            WHEN 1
                            THEN 0
                            WHEN 2
                            THEN 0
                            WHEN 3
                            THEN 0
                            WHEN 4
                            THEN 0
                            WHEN 5
                            THEN 0
                            WHEN 6
                            THEN 0
                            WHEN 7
                            THEN 0
                            WHEN 8
                            THEN 0
                            WHEN 9
                            THEN 0
                            WHEN 10
                            THEN 0
                          END
                        ) = 1
                        THEN 0
                        ELSE base
                      END
                    ) * (
                      occ + (
                        CASE rule_no
                          WHEN 0
                          THEN 90
                          WHEN 1
                          THEN 182
                          WHEN 2
                          THEN 182
                          WHEN 3
                          THEN 1095
                          WHEN 4
                          THEN 180
                          WHEN 5
                          THEN 540
                          WHEN 6
                          THEN 540
                          WHEN 7
                          THEN 1095
                          WHEN 8
                          THEN 365
                          WHEN 9
                          THEN 182
                          WHEN 10
                          THEN 182
                        END
                      ) - 20634
                    )
                  ) + (
                    CASE rule_no
                      WHEN 0
                      THEN 90
                      WHEN 1
                      THEN 182
                      WHEN 2
                      THEN 182
                      WHEN 3
                      THEN 1095
                      WHEN 4
                      THEN 180
                      WHEN 5
                      THEN 540
                      WHEN 6
                      THEN 540
                      WHEN 7
                      THEN 1095
                      WHEN 8
                      THEN 365
                      WHEN 9
                      THEN 182
                      WHEN 10
                      THEN 182
                    END
                  )
                ),
                (
                  2 * (
                    CASE rule_no
                      WHEN 0
                      THEN 90
                      WHEN 1
                      THEN 182
                      WHEN 2
                      THEN 182
                      WHEN 3
                      THEN 1095
                      WHEN 4
                      THEN 180
                      WHEN 5
                      THEN 540
                      WHEN 6
                      THEN 540
                      WHEN 7
                      THEN 1095
                      WHEN 8
                      THEN 365
                      WHEN 9
                      THEN 182
                      WHEN 10
                      THEN 182
                    END
                  )
                )
              )
            )
            ELSE (
              DIV(
                (
                  2 * ABS(
                    100 * (
                      CASE
                        WHEN (
                          CASE rule_no
                            WHEN 0
                            THEN 0
                            WHEN 1
                            THEN 0
                            WHEN 2
                            THEN 0
                            WHEN 3
                            THEN 0
                            WHEN 4
                            THEN 0
                            WHEN 5
                            THEN 1
                            WHEN 6
                            THEN 1
                            WHEN 7
                            THEN 1
                            WHEN 8
                            THEN 1
                            WHEN 9
                            THEN 0
                            WHEN 10
                            THEN 0
                          END
                        ) = 0
                        THEN base
                        WHEN repeated
                        THEN base * (
                          CASE rule_no
                            WHEN 0
                            THEN 1
                            WHEN 1
                            THEN 1
                            WHEN 2
                            THEN 1
                            WHEN 3
                            THEN 1
                            WHEN 4
                            THEN 1
                            WHEN 5
                            THEN 3
                            WHEN 6
                            THEN 2
                            WHEN 7
                            THEN 3
                            WHEN 8
                            THEN 3
                            WHEN 9
                            THEN 1
                            WHEN 10
                            THEN 1
                          END
                        )
                        WHEN (
                          CASE rule_no
                            WHEN 0
                            THEN 0
                            WHEN 1
                            THEN 0
                            WHEN 2
                            THEN 0
                            WHEN 3
                            THEN 0
                            WHEN 4
                            THEN 0
                            WHEN 5
                            THEN 0
                            WHEN 6
                            THEN 0
                            WHEN 7
                            THEN 0
                            WHEN 8
                            THEN 0
                            WHEN 9
                            THEN 0
                            WHEN 10
                            THEN 0
                          END
                        ) = 1
                        THEN 0
                        ELSE base
                      END
                    ) * (
                      occ + (
                        CASE rule_no
                          WHEN 0
                          THEN 90
                          WHEN 1
                          THEN 182
                          WHEN 2
                          THEN 182
                          WHEN 3
                          THEN 1095
                          WHEN 4
                          THEN 180
                          WHEN 5
                          THEN 540
                          WHEN 6
                          THEN 540
                          WHEN 7
                          THEN 1095
                          WHEN 8
                          THEN 365
                          WHEN 9
                          THEN 182
                          WHEN 10
                          THEN 182
                        END
                      ) - 20634
                    )
                  ) + (
                    CASE rule_no
                      WHEN 0
                      THEN 90
                      WHEN 1
                      THEN 182
                      WHEN 2
                      THEN 182
                      WHEN 3
                      THEN 1095
                      WHEN 4
                      THEN 180
                      WHEN 5
                      THEN 540
                      WHEN 6
                      THEN 540
                      WHEN 7
                      THEN 1095
                      WHEN 8
                      THEN 365
                      WHEN 9
                      THEN 182
                      WHEN 10
                      THEN 182
                    END
                  )
                ),
                (
                  2 * (
                    CASE rule_no
                      WHEN 0
                      THEN 90
                      WHEN 1
                      THEN 182
                      WHEN 2
                      THEN 182
                      WHEN 3
                      THEN 1095
                      WHEN 4
                      THEN 180
                      WHEN 5
                      THEN 540
                      WHEN 6
                      THEN 540
                      WHEN 7
                      THEN 1095
                      WHEN 8
                      THEN 365
                      WHEN 9
                      THEN 182
                      WHEN 10
                      THEN 182
                    END
                  )
                )
              )
            )
          END
        )
        ELSE 100 * (
          CASE
            WHEN (
              CASE rule_no
                WHEN 0
                THEN 0
                WHEN 1
                THEN 0
                WHEN 2
                THEN 0
                WHEN 3
                THEN 0
                WHEN 4
                THEN 0
                WHEN 5
                THEN 1
                WHEN 6
                THEN 1
                WHEN 7
                THEN 1
                WHEN 8
                THEN 1
                WHEN 9
                THEN 0
                WHEN 10
                THEN 0
              END
            ) = 0
            THEN base
            WHEN repeated
            THEN base * (
              CASE rule_no
                WHEN 0
                THEN 1
                WHEN 1
                THEN 1
                WHEN 2
                THEN 1
                WHEN 3
                THEN 1
                WHEN 4
                THEN 1
                WHEN 5
                THEN 3
                WHEN 6
                THEN 2
                WHEN 7
                THEN 3
                WHEN 8
                THEN 3
                WHEN 9
                THEN 1
                WHEN 10
                THEN 1
              END
            )
            WHEN (
              CASE rule_no
                WHEN 0
                THEN 0
                WHEN 1
                THEN 0
                WHEN 2
                THEN 0
                WHEN 3
                THEN 0
                WHEN 4
                THEN 0
                WHEN 5
                THEN 0
                WHEN 6
                THEN 0
                WHEN 7
                THEN 0
                WHEN 8
                THEN 0
                WHEN 9
                THEN 0
                WHEN 10
                THEN 0
              END
            ) = 1
            THEN 0
            ELSE base
          END
        )
      END
    ) AS contribution
  FROM (
    SELECT
      ka,
      kb,
      accepted,
      rule_no,
      occ,
      base,
      ends,
      takes_part,
      FALSE AS repeated
    FROM (
      SELECT
        *,
        accepted
        AND valid
        AND (
          NOT rh IN (
            SELECT
              rh
            FROM dup
          )
          OR (file_no, row_no) IN (
            SELECT
              (file_no, row_no)
            FROM winners
          )
        ) AS takes_part
      FROM batch_rows
      WHERE
        pre_reason IS NULL
    )
    WHERE
      NOT (
        takes_part AND in_window
      )
    UNION ALL
    SELECT
      ka,
      kb,
      accepted,
      rule_no,
      occ,
      base,
      ends,
      TRUE,
      repeated
    FROM repeating
  )
), agg AS (
  SELECT
    ka,
    kb,
    BOOL_OR(accepted) AS present,
    SUM(CASE WHEN counting AND dim_no = 0 THEN contribution ELSE 0 END) AS raw_0,
    SUM(CASE WHEN counting AND dim_no = 1 THEN contribution ELSE 0 END) AS raw_1,
    SUM(CASE WHEN counting AND dim_no = 2 THEN contribution ELSE 0 END) AS raw_2,
    SUM(CASE WHEN counting AND dim_no = 3 THEN contribution ELSE 0 END) AS raw_3,
    BOOL_OR(counting AND rule_no IN (4)) AS list_0,
    BOOL_OR(takes_part AND base < 0 AND occ > 19904) AS dirty_1
  FROM scored
  GROUP BY
    ka,
    kb
), named AS (
  SELECT
    *,
    CASE
      WHEN kb % 2 = 0
      THEN LPAD(CAST(ka AS TEXT), 17, '0') || CHR(  CAST(DIV(kb, 2) AS INT))
      ELSE SUBSTRING('0123456789ABCDEFGHJKLMNPQRTUWXY' FROM CAST((
        DIV(ka, 852891037441)
      ) % 31 AS INT) + 1 FOR 1) || SUBSTRING('0123456789ABCDEFGHJKLMNPQRTUWXY' FROM CAST((
        DIV(ka, 27512614111)
      ) % 31 AS INT) + 1 FOR 1) || SUBSTRING('0123456789ABCDEFGHJKLMNPQRTUWXY' FROM CAST((
        DIV(ka, 887503681)
      ) % 31 AS INT) + 1 FOR 1) || SUBSTRING('0123456789ABCDEFGHJKLMNPQRTUWXY' FROM CAST((
        DIV(ka, 28629151)
      ) % 31 AS INT) + 1 FOR 1) || SUBSTRING('0123456789ABCDEFGHJKLMNPQRTUWXY' FROM CAST((
        DIV(ka, 923521)
      ) % 31 AS INT) + 1 FOR 1) || SUBSTRING('0123456789ABCDEFGHJKLMNPQRTUWXY' FROM CAST((
        DIV(ka, 29791)
      ) % 31 AS INT) + 1 FOR 1) || SUBSTRING('0123456789ABCDEFGHJKLMNPQRTUWXY' FROM CAST((
        DIV(ka, 961)
      ) % 31 AS INT) + 1 FOR 1) || SUBSTRING('0123456789ABCDEFGHJKLMNPQRTUWXY' FROM CAST((
        DIV(ka, 31)
      ) % 31 AS INT) + 1 FOR 1) || SUBSTRING('0123456789ABCDEFGHJKLMNPQRTUWXY' FROM CAST((
        DIV(ka, 1)
      ) % 31 AS INT) + 1 FOR 1) || SUBSTRING('0123456789ABCDEFGHJKLMNPQRTUWXY' FROM CAST((
        DIV(DIV((
          kb - 1
        ), 2), 852891037441)
      ) % 31 AS INT) + 1 FOR 1) || SUBSTRING('0123456789ABCDEFGHJKLMNPQRTUWXY' FROM CAST((
        DIV(DIV((
          kb - 1
        ), 2), 27512614111)
      ) % 31 AS INT) + 1 FOR 1) || SUBSTRING('0123456789ABCDEFGHJKLMNPQRTUWXY' FROM CAST((
        DIV(DIV((
          kb - 1
        ), 2), 887503681)
      ) % 31 AS INT) + 1 FOR 1) || SUBSTRING('0123456789ABCDEFGHJKLMNPQRTUWXY' FROM CAST((
        DIV(DIV((
          kb - 1
        ), 2), 28629151)
      ) % 31 AS INT) + 1 FOR 1) || SUBSTRING('0123456789ABCDEFGHJKLMNPQRTUWXY' FROM CAST((
        DIV(DIV((
          kb - 1
        ), 2), 923521)
      ) % 31 AS INT) + 1 FOR 1) || SUBSTRING('0123456789ABCDEFGHJKLMNPQRTUWXY' FROM CAST((
        DIV(DIV((
          kb - 1
        ), 2), 29791)
      ) % 31 AS INT) + 1 FOR 1) || SUBSTRING('0123456789ABCDEFGHJKLMNPQRTUWXY' FROM CAST((
        DIV(DIV((
          kb - 1
        ), 2), 961)
      ) % 31 AS INT) + 1 FOR 1) || SUBSTRING('0123456789ABCDEFGHJKLMNPQRTUWXY' FROM CAST((
        DIV(DIV((
          kb - 1
        ), 2), 31)
      ) % 31 AS INT) + 1 FOR 1) || SUBSTRING('0123456789ABCDEFGHJKLMNPQRTUWXY' FROM CAST((
        DIV(DIV((
          kb - 1
        ), 2), 1)
      ) % 31 AS INT) + 1 FOR 1)
    END AS subject_id,
    CASE WHEN kb % 2 = 0 THEN 'person' ELSE 'organization' END AS subject_kind
  FROM agg
), dims AS (
  SELECT
    ka,
    kb,
    subject_id,
    subject_kind,
    present,
    CASE
      WHEN kb % 2 = 0
      THEN CASE
        WHEN NOT (
          (
            DIV((
              (
                DIV(ka, 1000)
              ) % 100000000
            ), 10000)
          ) >= 1
          AND (
            (
              DIV((
                (
                  DIV(ka, 1000)
                ) % 100000000
              ), 100)
            ) % 100
          ) BETWEEN 1 AND 12
          AND (
            (
              (
                DIV(ka, 1000)
              ) % 100000000
            ) % 100
          ) BETWEEN 1 AND (
            CASE
              WHEN (
                (
                  DIV((
                    (
                      DIV(ka, 1000)
                    ) % 100000000
                  ), 100)
                ) % 100
              ) = 2
              THEN CASE
                WHEN (
                  (
                    (
                      DIV((
                        (
                          DIV(ka, 1000)
                        ) % 100000000
                      ), 10000)
                    ) % 4 = 0
                    AND (
                      DIV((
                        (
                          DIV(ka, 1000)
                        ) % 100000000
                      ), 10000)
                    ) % 100 <> 0
                  )
                  OR (
                    DIV((
                      (
                        DIV(ka, 1000)
                      ) % 100000000
                    ), 10000)
                  ) % 400 = 0
                )
                THEN 29
                ELSE 28
              END
              WHEN (
                (
                  DIV((
                    (
                      DIV(ka, 1000)
                    ) % 100000000
                  ), 100)
                ) % 100
              ) IN (4, 6, 9, 11)
              THEN 30
              ELSE 31
            END
          )
        )
        THEN 'person identifier has a birth date that does not exist'
        WHEN SUBSTRING('10X98765432' FROM (
          (
            (
              DIV(ka, 10000000000000000)
            ) % 10
          ) * 7 + (
            (
              DIV(ka, 1000000000000000)
            ) % 10
          ) * 9 + (
            (
              DIV(ka, 100000000000000)
            ) % 10
          ) * 10 + (
            (
              DIV(ka, 10000000000000)
            ) % 10
          ) * 5 + (
            (
              DIV(ka, 1000000000000)
            ) % 10
          ) * 8 + (
            (
              DIV(ka, 100000000000)
            ) % 10
          ) * 4 + (
            (
              DIV(ka, 10000000000)
            ) % 10
          ) * 2 + (
            (
              DIV(ka, 1000000000)
            ) % 10
          ) * 1 + (
            (
              DIV(ka, 100000000)
            ) % 10
          ) * 6 + (
            (
              DIV(ka, 10000000)
            ) % 10
          ) * 3 + (
            (
              DIV(ka, 1000000)
            ) % 10
          ) * 7 + (
            (
              DIV(ka, 100000)
            ) % 10
          ) * 9 + (
            (
              DIV(ka, 10000)
            ) % 10
          ) * 10 + (
            (
              DIV(ka, 1000)
            ) % 10
          ) * 5 + (
            (
              DIV(ka, 100)
            ) % 10
          ) * 8 + (
            (
              DIV(ka, 10)
            ) % 10
          ) * 4 + (
            (
              DIV(ka, 1)
            ) % 10
          ) * 2
        ) % 11 + 1 FOR 1) <> CHR(  CAST(DIV(kb, 2) AS INT))
        THEN 'person identifier fails its check character'
      END
      ELSE CASE
        WHEN 'organization' = 'organization'
        THEN CASE
          WHEN (
            CASE (
                11 - (
                  (
                    CASE
                      WHEN SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 1 FOR 1) BETWEEN '0' AND '9'
                      THEN ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 1 FOR 1)) - 48
                      ELSE ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 1 FOR 1)) - 55
                    END
                  ) * 3 + (
                    CASE
                      WHEN SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 2 FOR 1) BETWEEN '0' AND '9'
                      THEN ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 2 FOR 1)) - 48
                      ELSE ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 2 FOR 1)) - 55
                    END
                  ) * 7 + (
                    CASE
                      WHEN SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 3 FOR 1) BETWEEN '0' AND '9'
                      THEN ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 3 FOR 1)) - 48
                      ELSE ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 3 FOR 1)) - 55
                    END
                  ) * 9 + (
                    CASE
                      WHEN SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 4 FOR 1) BETWEEN '0' AND '9'
                      THEN ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 4 FOR 1)) - 48
                      ELSE ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 4 FOR 1)) - 55
                    END
                  ) * 10 + (
                    CASE
                      WHEN SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 5 FOR 1) BETWEEN '0' AND '9'
                      THEN ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 5 FOR 1)) - 48
                      ELSE ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 5 FOR 1)) - 55
                    END
                  ) * 5 + (
                    CASE
                      WHEN SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 6 FOR 1) BETWEEN '0' AND '9'
                      THEN ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 6 FOR 1)) - 48
                      ELSE ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 6 FOR 1)) - 55
                    END
                  ) * 8 + (
                    CASE
                      WHEN SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 7 FOR 1) BETWEEN '0' AND '9'
                      THEN ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 7 FOR 1)) - 48
                      ELSE ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 7 FOR 1)) - 55
                    END
                  ) * 4 + (
                    CASE
                      WHEN SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 8 FOR 1) BETWEEN '0' AND '9'
                      THEN ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 8 FOR 1)) - 48
                      ELSE ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 8 FOR 1)) - 55
                    END
                  ) * 2
                ) % 11
              )
              WHEN 10
              THEN 'X'
              WHEN 11
              THEN '0'
              ELSE CAST((
                11 - (
                  (
                    CASE
                      WHEN SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 1 FOR 1) BETWEEN '0' AND '9'
                      THEN ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 1 FOR 1)) - 48
                      ELSE ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 1 FOR 1)) - 55
                    END
                  ) * 3 + (
                    CASE
                      WHEN SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 2 FOR 1) BETWEEN '0' AND '9'
                      THEN ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 2 FOR 1)) - 48
                      ELSE ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 2 FOR 1)) - 55
                    END
                  ) * 7 + (
                    CASE
                      WHEN SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 3 FOR 1) BETWEEN '0' AND '9'
                      THEN ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 3 FOR 1)) - 48
                      ELSE ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 3 FOR 1)) - 55
                    END
                  ) * 9 + (
                    CASE
                      WHEN SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 4 FOR 1) BETWEEN '0' AND '9'
                      THEN ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 4 FOR 1)) - 48
                      ELSE ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 4 FOR 1)) - 55
                    END
                  ) * 10 + (
                    CASE
                      WHEN SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 5 FOR 1) BETWEEN '0' AND '9'
                      THEN ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 5 FOR 1)) - 48
                      ELSE ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 5 FOR 1)) - 55
                    END
                  ) * 5 + (
                    CASE
                      WHEN SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 6 FOR 1) BETWEEN '0' AND '9'
                      THEN ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 6 FOR 1)) - 48
                      ELSE ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 6 FOR 1)) - 55
                    END
                  ) * 8 + (
                    CASE
                      WHEN SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 7 FOR 1) BETWEEN '0' AND '9'
                      THEN ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 7 FOR 1)) - 48
                      ELSE ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 7 FOR 1)) - 55
                    END
                  ) * 4 + (
                    CASE
                      WHEN SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 8 FOR 1) BETWEEN '0' AND '9'
                      THEN ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 8 FOR 1)) - 48
                      ELSE ASCII(SUBSTRING(SUBSTRING(subject_id FROM 9 FOR 8) FROM 8 FOR 1)) - 55
                    END
                  ) * 2
                ) % 11
              ) AS TEXT)
            END
          ) <> SUBSTRING(subject_id FROM 17 FOR 1)
          THEN 'organisation identifier: embedded organisation code fails its check character'
          WHEN SUBSTRING('0123456789ABCDEFGHJKLMNPQRTUWXY' FROM (
            31 - (
              (
                POSITION(SUBSTRING(subject_id FROM 1 FOR 1) IN '0123456789ABCDEFGHJKLMNPQRTUWXY') - 1
              ) * 1 + (
                POSITION(SUBSTRING(subject_id FROM 2 FOR 1) IN '0123456789ABCDEFGHJKLMNPQRTUWXY') - 1
              ) * 3 + (
                POSITION(SUBSTRING(subject_id FROM 3 FOR 1) IN '0123456789ABCDEFGHJKLMNPQRTUWXY') - 1
              ) * 9 + (
                POSITION(SUBSTRING(subject_id FROM 4 FOR 1) IN '0123456789ABCDEFGHJKLMNPQRTUWXY') - 1
              ) * 27 + (
                POSITION(SUBSTRING(subject_id FROM 5 FOR 1) IN '0123456789ABCDEFGHJKLMNPQRTUWXY') - 1
              ) * 19 + (
                POSITION(SUBSTRING(subject_id FROM 6 FOR 1) IN '0123456789ABCDEFGHJKLMNPQRTUWXY') - 1
              ) * 26 + (
                POSITION(SUBSTRING(subject_id FROM 7 FOR 1) IN '0123456789ABCDEFGHJKLMNPQRTUWXY') - 1
              ) * 16 + (
                POSITION(SUBSTRING(subject_id FROM 8 FOR 1) IN '0123456789ABCDEFGHJKLMNPQRTUWXY') - 1
              ) * 17 + (
                POSITION(SUBSTRING(subject_id FROM 9 FOR 1) IN '0123456789ABCDEFGHJKLMNPQRTUWXY') - 1
              ) * 20 + (
                POSITION(SUBSTRING(subject_id FROM 10 FOR 1) IN '0123456789ABCDEFGHJKLMNPQRTUWXY') - 1
              ) * 29 + (
                POSITION(SUBSTRING(subject_id FROM 11 FOR 1) IN '0123456789ABCDEFGHJKLMNPQRTUWXY') - 1
              ) * 25 + (
                POSITION(SUBSTRING(subject_id FROM 12 FOR 1) IN '0123456789ABCDEFGHJKLMNPQRTUWXY') - 1
              ) * 13 + (
                POSITION(SUBSTRING(subject_id FROM 13 FOR 1) IN '0123456789ABCDEFGHJKLMNPQRTUWXY') - 1
              ) * 8 + (
                POSITION(SUBSTRING(subject_id FROM 14 FOR 1) IN '0123456789ABCDEFGHJKLMNPQRTUWXY') - 1
              ) * 24 + (
                POSITION(SUBSTRING(subject_id FROM 15 FOR 1) IN '0123456789ABCDEFGHJKLMNPQRTUWXY') - 1
              ) * 10 + (
                POSITION(SUBSTRING(subject_id FROM 16 FOR 1) IN '0123456789ABCDEFGHJKLMNPQRTUWXY') - 1
              ) * 30 + (
                POSITION(SUBSTRING(subject_id FROM 17 FOR 1) IN '0123456789ABCDEFGHJKLMNPQRTUWXY') - 1
              ) * 28
            ) % 31
          ) % 31 + 1 FOR 1) <> SUBSTRING(subject_id FROM 18 FOR 1)
          THEN 'organisation identifier fails its check character'
        END
        ELSE CASE
          WHEN SUBSTRING(SUBSTRING(subject_id FROM 7 FOR 8) FROM 1 FOR 4) = '0000'
          OR TRY_STRPTIME(SUBSTRING(subject_id FROM 7 FOR 8), '%Y%m%d') IS NULL
          THEN 'person identifier has a birth date that does not exist'
          WHEN SUBSTRING('10X98765432' FROM (
            (
              ASCII(SUBSTRING(subject_id FROM 1 FOR 1)) - 48
            ) * 7 + (
              ASCII(SUBSTRING(subject_id FROM 2 FOR 1)) - 48
            ) * 9 + (
              ASCII(SUBSTRING(subject_id FROM 3 FOR 1)) - 48
            ) * 10 + (
              ASCII(SUBSTRING(subject_id FROM 4 FOR 1)) - 48
            ) * 5 + (
              ASCII(SUBSTRING(subject_id FROM 5 FOR 1)) - 48
            ) * 8 + (
              ASCII(SUBSTRING(subject_id FROM 6 FOR 1)) - 48
            ) * 4 + (
              ASCII(SUBSTRING(subject_id FROM 7 FOR 1)) - 48
            ) * 2 + (
              ASCII(SUBSTRING(subject_id FROM 8 FOR 1)) - 48
            ) * 1 + (
              ASCII(SUBSTRING(subject_id FROM 9 FOR 1)) - 48
            ) * 6 + (
              ASCII(SUBSTRING(subject_id FROM 10 FOR 1)) - 48
            ) * 3 + (
              ASCII(SUBSTRING(subject_id FROM 11 FOR 1)) - 48
            ) * 7 + (
              ASCII(SUBSTRING(subject_id FROM 12 FOR 1)) - 48
            ) * 9 + (
              ASCII(SUBSTRING(subject_id FROM 13 FOR 1)) - 48
            ) * 10 + (
              ASCII(SUBSTRING(subject_id FROM 14 FOR 1)) - 48
            ) * 5 + (
              ASCII(SUBSTRING(subject_id FROM 15 FOR 1)) - 48
            ) * 8 + (
              ASCII(SUBSTRING(subject_id FROM 16 FOR 1)) - 48
            ) * 4 + (
              ASCII(SUBSTRING(subject_id FROM 17 FOR 1)) - 48
            ) * 2
          ) % 11 + 1 FOR 1) <> SUBSTRING(subject_id FROM 18 FOR 1)
          THEN 'person identifier fails its check character'
        END
      END
    END AS id_problem,
    LEAST(GREATEST(COALESCE(raw_0, 0), -10000), 2000) AS dim_0,
    LEAST(GREATEST(COALESCE(raw_1, 0), -15000), 0) AS dim_1,
    LEAST(GREATEST(COALESCE(raw_2, 0), -10000), 3000) AS dim_2,
    LEAST(GREATEST(COALESCE(raw_3, 0), 0), 3000) AS dim_3,
    list_0,
    dirty_1
  FROM named
), totals AS (
  SELECT
    *,
    LEAST(
      GREATEST(
        (
          CASE
            WHEN (
              60000 + dim_0 + dim_1 + dim_2 + dim_3
            ) < 0
            THEN -(
              DIV((
                2 * ABS(60000 + dim_0 + dim_1 + dim_2 + dim_3) + 100
              ), (
                2 * 100
              ))
            )
            ELSE (
              DIV((
                2 * ABS(60000 + dim_0 + dim_1 + dim_2 + dim_3) + 100
              ), (
                2 * 100
              ))
            )
          END
        ),
        0
      ),
      900
    ) AS score
  FROM dims
), harm AS (
  SELECT
    ka,
    kb,
    (
      CASE rule_no
        WHEN 0
        THEN 'tax.late_payment'
        WHEN 1
        THEN 'tax.evasion'
        WHEN 2
        THEN 'loan.default'
        WHEN 3
        THEN 'loan.repaid_on_time'
        WHEN 4
        THEN 'court.judgment_default'
        WHEN 5
        THEN 'traffic.violation'
        WHEN 6
        THEN 'market.unlicensed_operation'
        WHEN 7
        THEN 'market.consumer_complaint_upheld'
        WHEN 8
        THEN 'platform.fraud_adjudicated'
        WHEN 9
        THEN 'civic.volunteer_service'
        WHEN 10
        THEN 'civic.blood_donation'
      END
    ) AS category,
    SUM(contribution) AS points
  FROM scored
  WHERE
    counting AND contribution < 0
  GROUP BY
    ka,
    kb,
    rule_no
), reasons AS (
  SELECT
    ka,
    kb,
    STRING_AGG(category, ';'
    ORDER BY
      rank_no) AS reasons
  FROM (
    SELECT
      *,
      ROW_NUMBER() OVER (PARTITION BY ka, kb ORDER BY points, category) AS rank_no
    FROM harm
  )
  WHERE
    rank_no <= 4
  GROUP BY
    ka,
    kb
)
SELECT
  s.ka,
  s.kb,
  s.subject_id,
  s.subject_kind,
  s.present,
  s.id_problem,
  s.score,
  CASE
    WHEN score >= 650
    THEN 'AAA'
    WHEN score >= 630
    THEN 'AA'
    WHEN score >= 560
    THEN 'A'
    WHEN score >= 450
    THEN 'B'
    WHEN score >= 200
    THEN 'C'
    WHEN score >= 0
    THEN 'D'
  END AS grade,
  dim_0,
  dim_1,
  dim_2,
  dim_3,
  CONCAT_WS(
    ';',
    CASE WHEN COALESCE(list_0, FALSE) THEN 'dishonest-judgment-debtors' END,
    CASE
      WHEN (
        score >= 630 AND NOT COALESCE(dirty_1, FALSE)
      )
      THEN 'honour-roll'
    END
  ) AS lists,
  CONCAT_WS(
    ';',
    CASE WHEN COALESCE(list_0, FALSE) THEN 'high-consumption-restriction' END,
    CASE WHEN (
      score >= 630
    ) THEN 'loan-fast-track' END,
    CASE WHEN (
      dim_0 <= -4000
    ) THEN 'procurement-exclusion' END
  ) AS measures,
  COALESCE(rs.reasons, '') AS reasons
FROM totals AS s
LEFT JOIN reasons AS rs
  ON rs.ka = s.ka AND rs.kb = s.kb

-- output_sql
SELECT
  subject_id,
  subject_kind,
  CAST(score AS INT) AS score,
  grade,
  CAST(CAST(dim_0 AS DOUBLE PRECISION) / 100.0 AS DECIMAL(18, 2)) AS dim_fiscal,
  CAST(CAST(dim_1 AS DOUBLE PRECISION) / 100.0 AS DECIMAL(18, 2)) AS dim_legal,
  CAST(CAST(dim_2 AS DOUBLE PRECISION) / 100.0 AS DECIMAL(18, 2)) AS dim_commercial,
  CAST(CAST(dim_3 AS DOUBLE PRECISION) / 100.0 AS DECIMAL(18, 2)) AS dim_civic,
  lists,
  measures,
  reasons
FROM subject_scores
WHERE
  present AND id_problem IS NULL

-- rejects_sql
SELECT
  f.file,
  x.row_no AS row,
  reason,
  source,
  record_id,
  subject_id,
  subject_kind,
  category,
  occurred_on,
  amount,
  resolved_on,
  status,
  reference
FROM (
  /* parse_row's order: the identifier's own problem comes before a bad category, date, amount or status */
  SELECT
    b.file_no,
    b.row_no,
    COALESCE(b.pre_reason, s.id_problem, b.post_reason) AS reason,
    b.source,
    b.record_id,
    b.raw[1] AS subject_id,
    b.raw[2] AS subject_kind,
    b.raw[3] AS category,
    b.raw[4] AS occurred_on,
    b.raw[5] AS amount,
    b.raw[6] AS resolved_on,
    b.raw[7] AS status,
    b.raw[8] AS reference
  FROM batch_rows AS b
  LEFT JOIN (
    SELECT
      ka,
      kb,
      id_problem
    FROM subject_scores
    WHERE
      NOT id_problem IS NULL
  ) AS s
    ON s.ka = b.ka AND s.kb = b.kb
  WHERE
    NOT b.accepted
  UNION ALL
  SELECT
    c.file_no,
    c.row_no,
    s.id_problem,
    c.source,
    c.record_id,
    CAST(c.subject_id AS TEXT),
    CAST(c.subject_kind AS TEXT),
    CAST(c.category AS TEXT),
    CAST(c.raw_occurred_on AS TEXT),
    CAST(c.raw_amount AS TEXT),
    CAST(c.raw_resolved_on AS TEXT),
    CAST(c.raw_status AS TEXT),
    CAST(c.reference AS TEXT)
  FROM checked AS c
  JOIN subject_scores AS s
    ON s.ka = c.ka AND s.kb = c.kb
  WHERE
    NOT s.id_problem IS NULL AND c.pre_reason IS NULL AND c.post_reason IS NULL
) AS x
JOIN input_files AS f
  ON f.file_no = x.file_no
ORDER BY
  x.file_no,
  x.row_no
