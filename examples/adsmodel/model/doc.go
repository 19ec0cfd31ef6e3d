// Package model is the ad-response model of the music-streaming demo (its
// stage 3, which the original trained with Spark MLlib): per customer, the
// shares of plays in the morning (06-12), afternoon (12-18), evening (18-24)
// and night (00-06), the mobile share and the unique-tracks share predict
// whether the customer clicks the ADV_REDUCED_1DAY ad.
//
// Rows come from plays (a Builder fed with play events, gen.Play values or
// a plays CSV) joined with labels from clicks.csv (ReadClicks), or directly
// from the demo's libSVM features file (ReadLibSVM). Train fits a logistic
// regression with L2 (Newton's method; a small, tested implementation) on a
// seeded 70/30 split and reports the misclassification rate on the held-out
// 30%.
//
// Publish writes the model to Redis only when that error is under a
// threshold (default 10%), otherwise it returns a *RefusedError. It writes:
//
//   - <prefix>model:ads, a hash: version (incremented on each publish),
//     features ("morning,afternoon,evening,night,mobile,unique", the order
//     of weights), weights (comma-separated), intercept, test_error,
//     threshold, train_rows, test_rows, trained_at (RFC 3339);
//   - <prefix>pred_event:<id>, "0" or "1", per customer, as the demo did;
//   - fields pred_event and ad_features (the customer's features,
//     comma-separated in model order) on <prefix>customer:<id>, when that
//     hash exists, so enrichment delivers customer.pred_event to rules;
//   - a message with the new version on the channel <prefix>model:ads.
//
// Every training attempt, published or not, can be recorded in the stream
// <prefix>model:ads:history (AppendHistory; ReadHistory reads it back): its
// time, rows, held-out error, threshold, outcome and reason.
//
// Load reads the live model back; a Watcher polls its version on an
// injected clock, so a long-running process picks up a new model without a
// restart, and scores features with it (Score), or an enriched customer
// record carrying the ad_features field Publish writes (ScoreRecord: the body
// of a rule function such as ad_score(customer)).
package model
