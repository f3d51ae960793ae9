//go:build linux && cgo && !nowebrtcap

// The extern "C" shim over webrtc::AudioProcessing (libwebrtc-audio-processing 0.3).
#include "shim.h"

#include <new>

#include "webrtc/modules/audio_processing/include/audio_processing.h"

struct tc_apm {
	webrtc::AudioProcessing *apm;
	webrtc::StreamConfig cfg;
	int frames;
	float buf[480];
};

static webrtc::NoiseSuppression::Level ns_level(int l) {
	switch (l) {
	case 0: return webrtc::NoiseSuppression::kLow;
	case 1: return webrtc::NoiseSuppression::kModerate;
	case 2: return webrtc::NoiseSuppression::kHigh;
	default: return webrtc::NoiseSuppression::kVeryHigh;
	}
}

extern "C" tc_apm *tc_apm_new(const tc_apm_config *c, int *err) {
	*err = 0;
	int frames = c->rate / 100;
	if (frames <= 0 || frames > 480) {
		*err = webrtc::AudioProcessing::kBadSampleRateError;
		return nullptr;
	}
	webrtc::Config config;
	config.Set<webrtc::ExtendedFilter>(new webrtc::ExtendedFilter(c->extended != 0));
	config.Set<webrtc::DelayAgnostic>(new webrtc::DelayAgnostic(c->delay_agnostic != 0));
	config.Set<webrtc::ExperimentalAgc>(new webrtc::ExperimentalAgc(false));
	webrtc::AudioProcessing *apm = webrtc::AudioProcessing::Create(config);
	if (apm == nullptr) {
		*err = webrtc::AudioProcessing::kUnspecifiedError;
		return nullptr;
	}
	webrtc::ProcessingConfig pc = {{
		webrtc::StreamConfig(c->rate, 1), webrtc::StreamConfig(c->rate, 1),
		webrtc::StreamConfig(c->rate, 1), webrtc::StreamConfig(c->rate, 1),
	}};
	int e = apm->Initialize(pc);
	webrtc::EchoCancellation *ec = apm->echo_cancellation();
	if (e == 0) e = ec->enable_drift_compensation(false);
	if (e == 0) {
		webrtc::EchoCancellation::SuppressionLevel s = webrtc::EchoCancellation::kModerateSuppression;
		if (c->suppression <= 0) s = webrtc::EchoCancellation::kLowSuppression;
		if (c->suppression >= 2) s = webrtc::EchoCancellation::kHighSuppression;
		e = ec->set_suppression_level(s);
	}
	if (e == 0) e = ec->enable_metrics(true);
	if (e == 0) e = ec->enable_delay_logging(true);
	if (e == 0) e = ec->Enable(c->no_echo == 0);
	if (e == 0) e = apm->gain_control()->Enable(false);
	if (e == 0) e = apm->high_pass_filter()->Enable(c->high_pass != 0);
	if (e == 0 && c->ns >= 0) e = apm->noise_suppression()->set_level(ns_level(c->ns));
	if (e == 0) e = apm->noise_suppression()->Enable(c->ns >= 0);
	if (e != 0) {
		delete apm;
		*err = e;
		return nullptr;
	}
	tc_apm *a = new (std::nothrow) tc_apm;
	if (a == nullptr) {
		delete apm;
		*err = webrtc::AudioProcessing::kUnspecifiedError;
		return nullptr;
	}
	a->apm = apm;
	a->cfg = webrtc::StreamConfig(c->rate, 1);
	a->frames = frames;
	return a;
}

extern "C" void tc_apm_free(tc_apm *a) {
	if (a == nullptr) return;
	delete a->apm;
	delete a;
}

extern "C" int tc_apm_reverse(tc_apm *a, const int16_t *far) {
	for (int i = 0; i < a->frames; i++) a->buf[i] = far[i] / 32768.0f;
	float *ch[1] = {a->buf};
	return a->apm->ProcessReverseStream(ch, a->cfg, a->cfg, ch);
}

extern "C" int tc_apm_capture(tc_apm *a, int16_t *mic, int delay_ms) {
	for (int i = 0; i < a->frames; i++) a->buf[i] = mic[i] / 32768.0f;
	float *ch[1] = {a->buf};
	a->apm->set_stream_delay_ms(delay_ms);
	int e = a->apm->ProcessStream(ch, a->cfg, a->cfg, ch);
	if (e != 0) return e;
	for (int i = 0; i < a->frames; i++) {
		float v = a->buf[i] * 32768.0f;
		if (v > 32767.0f) v = 32767.0f;
		if (v < -32768.0f) v = -32768.0f;
		mic[i] = (int16_t)(v < 0 ? v - 0.5f : v + 0.5f);
	}
	return 0;
}

extern "C" int tc_apm_set_ns(tc_apm *a, int level) {
	webrtc::NoiseSuppression *ns = a->apm->noise_suppression();
	if (level < 0) return ns->Enable(false);
	int e = ns->set_level(ns_level(level));
	if (e == 0) e = ns->Enable(true);
	return e;
}

extern "C" int tc_apm_has_echo(tc_apm *a) {
	return a->apm->echo_cancellation()->stream_has_echo() ? 1 : 0;
}

extern "C" void tc_apm_stats_get(tc_apm *a, tc_apm_stats *s) {
	webrtc::EchoCancellation *ec = a->apm->echo_cancellation();
	webrtc::EchoCancellation::Metrics m;
	s->erl = s->erle = s->a_nlp = -100;
	if (ec->GetMetrics(&m) == 0) {
		s->erl = m.echo_return_loss.average;
		s->erle = m.echo_return_loss_enhancement.average;
		s->a_nlp = m.a_nlp.average;
	}
	s->delay_median = s->delay_std = -1;
	s->fraction_poor_delays = -1;
	int med, sd;
	float poor;
	if (ec->GetDelayMetrics(&med, &sd, &poor) == 0) {
		s->delay_median = med;
		s->delay_std = sd;
		s->fraction_poor_delays = poor;
	}
}
