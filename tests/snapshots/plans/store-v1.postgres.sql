-- the store plan of v1-rulebook.yaml as of 2026-06-30, in postgres; refresh: CREDO_UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/test_sql_portability.py
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
  c.source,
  c.record_id,
  c.ka,
  c.kb,
  TRUE AS accepted,
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
    WHEN c.status = 'active' AND NOT r.rule_no IS NULL
    THEN LEAST(
      CASE WHEN c.occ > 20634 THEN c.occ END,
      CASE
        WHEN (
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
          END
        ) > 20634
        THEN (
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
          END
        )
      END,
      CASE
        WHEN (
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
          END AS BIGINT)
        ) < 0
        AND c.occ + 730 > 20634
        THEN c.occ + 730
      END,
      CASE
        WHEN (
          CASE r.rule_no
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
        AND c.occ <= 20634
        AND (
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
          END
        ) > 20634
        THEN 20635
      END
    )
  END AS next_change
FROM checked AS c
LEFT JOIN rules AS r
  ON r.category = c.category AND r.kind = c.subject_kind

-- subjects_sql
WITH repeating AS (
  SELECT
    ka,
    kb,
    rule_no,
    occ,
    base,
    ends,
    accepted,
    next_change,
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
      valid AS takes_part
    FROM batch_rows
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
    ) AS contribution,
    next_change
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
      FALSE AS repeated,
      next_change
    FROM (
      SELECT
        *,
        valid AS takes_part
      FROM batch_rows
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
      repeated,
      next_change
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
    BOOL_OR(takes_part AND base < 0 AND occ > 19904) AS dirty_1,
    MIN(next_change) AS next_change
  FROM scored
  GROUP BY
    ka,
    kb
), dims AS (
  SELECT
    ka,
    kb,
    present,
    LEAST(GREATEST(COALESCE(raw_0, 0), -10000), 2000) AS dim_0,
    LEAST(GREATEST(COALESCE(raw_1, 0), -15000), 0) AS dim_1,
    LEAST(GREATEST(COALESCE(raw_2, 0), -10000), 3000) AS dim_2,
    LEAST(GREATEST(COALESCE(raw_3, 0), 0), 3000) AS dim_3,
    list_0,
    dirty_1,
    next_change
  FROM agg
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
)
SELECT
  s.ka,
  s.kb,
  s.present,
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
  s.next_change
FROM totals AS s

-- output_sql
SELECT
  ka AS subject_id,
  CASE WHEN kb % 2 = 0 THEN 'person' ELSE 'organization' END AS subject_kind,
  CAST(score AS INT) AS score,
  grade,
  CAST(dim_0 AS BIGINT) AS dim_0,
  CAST(dim_1 AS BIGINT) AS dim_1,
  CAST(dim_2 AS BIGINT) AS dim_2,
  CAST(dim_3 AS BIGINT) AS dim_3,
  lists,
  measures,
  next_change
FROM subject_scores
