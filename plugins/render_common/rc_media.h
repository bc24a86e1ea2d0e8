/*
 * rc_media.h — media helpers shared by the renderer plugins, on the FFmpeg
 * libraries in process: fetching an image through the host's HTTP client,
 * decoding it, writing a JPEG, and taking a thumbnail out of an MP4.
 * Compiled into both plugins (see rc_comp.h).
 */
#ifndef RC_MEDIA_H
#define RC_MEDIA_H

#include "cliploop_plugin.h"
#include "rc_audio.h"
#include <libavutil/frame.h>

/** Fill err (code, message) and return code: the SDK's cl_error_set. */
#define rc_err cl_error_set

/**
 * GET url through api->http_do (the host's guard, timeouts and size cap
 * apply) and write the body to path. what names the asset in messages
 * ("background image", "logo"). Returns CL_OK; http_do's own status and
 * message when the request failed (CL_EBLOCKED, CL_ETIMEOUT, ...);
 * CL_EUPSTREAM with err->http_status for a non-2xx answer; CL_EIO when path
 * cannot be written. Messages show the URL without its query string.
 */
int rc_fetch_to_file(const cl_host_api *api, cl_call *call, const char *url, const char *path,
                     const char *what, cl_error *err);

/**
 * Decode the first picture of an image (or video) file. On success *out is a
 * new frame the caller frees with av_frame_free. Returns CL_OK or
 * CL_EUPSTREAM (not a decodable image) / CL_EIO, with err filled.
 */
int rc_decode_image(const char *path, const char *what, AVFrame **out, cl_error *err);

/**
 * Encode frame (any pixel format swscale converts) as a baseline JPEG at
 * path with the mjpeg encoder. Returns CL_OK or CL_EIO with err filled.
 */
int rc_write_jpeg(const AVFrame *frame, const char *path, cl_error *err);

/**
 * Decode video_path up to the first frame at or after t seconds (or its last
 * frame) and write it as a JPEG with rc_write_jpeg. Returns CL_OK, or
 * CL_EUPSTREAM (unreadable video) / CL_EIO with err filled.
 */
int rc_thumbnail_from_video(const char *video_path, double t, const char *jpeg_path,
                            cl_error *err);

/**
 * Copy the first video stream of in_path (no re-encoding) into a new MP4 at
 * out_path with a silent stereo AAC track as long as the video, and
 * +faststart. Returns CL_OK, or CL_EUPSTREAM (unreadable input) / CL_EIO
 * (cannot write out_path) with err filled; out_path is removed on failure.
 */
int rc_mux_with_silence(const char *in_path, const char *out_path, cl_error *err);

/**
 * rc_mux_with_silence with the soundtrack mix (rc_audio.h) instead of
 * silence; mix NULL or empty is silence. The track is as long as the video
 * (the mix is cut or padded with silence).
 */
int rc_mux_with_audio(const char *in_path, const char *out_path, const rc_mix *mix, cl_error *err);

#endif
