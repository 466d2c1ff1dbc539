"""FFmpeg knowledge for Practika. Nothing here imports Flask.

``inputs``       how an untrusted file is opened (allowed demuxers, ``file`` protocol only)
``probe``        what a file is (ffprobe), and what its packets hold (a stream-copy pass)
``validate``     whether Practika accepts it; ``rejections`` says why not, in plain words
``ladder``       which renditions to make, and whether a remux makes it playable first
``transcode``    the remux, the one-process ladder and the clip cutter
``poster``       the still frame
``run``          running tools with timeouts and progress, never leaving one behind
``synth``        generated test videos
"""
