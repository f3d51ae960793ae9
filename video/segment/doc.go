// Package segment is person segmentation for video frames, and the
// background effects built on it: blur and replacement.
//
// The model is MediaPipe's selfie segmentation (landscape, 144x256 RGB in,
// a 144x256 person probability out), as the npm package
// @mediapipe/selfie_segmentation 0.1.1675465747 ships it (Apache-2.0;
// model/). It runs here in pure Go: tflite.go reads the TFLite FlatBuffer
// by hand (the few tables needed), model.go compiles its graph to float32
// NHWC kernels for exactly the operators it uses (DEQUANTIZE of float16
// weights, CONV_2D, DEPTHWISE_CONV_2D, HARD_SWISH, RELU, MEAN, LOGISTIC,
// MUL, ADD, RESIZE_BILINEAR and MediaPipe's Convolution2DTransposeBias),
// with every buffer allocated once: running it allocates nothing. No cgo,
// no runtime from elsewhere.
//
// Effect runs the model on every 2nd frame (DefaultEvery), folds the new
// mask into the previous one (temporal smoothing), softens and upscales it
// to the frame with a feathered edge, and then blurs the background (two
// box passes per plane, radius by level) or replaces it by a picture
// scaled to cover the frame.
package segment
