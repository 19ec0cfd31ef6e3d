// Package examples holds runnable binaries that are templates to copy:
//
//   - musicstream: the whole music-streaming scenario (plays → dedup →
//     enrichment → windows → CEL rules → Redis queues);
//   - loadref: loads cust.csv and music.csv into Redis;
//   - smsworker: consumes queue:sms and sends the offers;
//   - adsmodel: trains the ad-response model.
//
// Each has a README of its own.
package examples
