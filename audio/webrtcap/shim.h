// A C interface to the WebRTC audio processing module (C++), for cgo.
#ifndef TC_WEBRTCAP_SHIM_H
#define TC_WEBRTCAP_SHIM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tc_apm tc_apm;

typedef struct {
	int rate;           // 8000, 16000, 32000 or 48000
	int ns;             // noise suppression: -1 off, 0 low .. 3 very high
	int suppression;    // echo suppression: 0 low, 1 moderate, 2 high
	int extended;       // extended filter
	int delay_agnostic; // estimate the delay between the streams
	int high_pass;      // high-pass filter on the capture
	int no_echo;        // echo cancellation off (noise suppression and high-pass only)
} tc_apm_config;

typedef struct {
	float erl, erle, a_nlp; // dB, averages (-100: not known yet)
	int delay_median, delay_std; // ms (-1: not known yet)
	float fraction_poor_delays;
} tc_apm_stats;

// tc_apm_new returns NULL on failure, with *err set to the APM error code.
tc_apm *tc_apm_new(const tc_apm_config *c, int *err);
void tc_apm_free(tc_apm *a);
// tc_apm_reverse feeds one 10 ms far-end frame.
int tc_apm_reverse(tc_apm *a, const int16_t *far);
// tc_apm_capture processes one 10 ms microphone frame in place.
int tc_apm_capture(tc_apm *a, int16_t *mic, int delay_ms);
int tc_apm_set_ns(tc_apm *a, int level);
int tc_apm_has_echo(tc_apm *a);
void tc_apm_stats_get(tc_apm *a, tc_apm_stats *s);

#ifdef __cplusplus
}
#endif

#endif
