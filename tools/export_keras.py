#!/usr/bin/env python3
"""Export a Keras classifier to ONNX for rsicam's onnx model plugin.

Needs TensorFlow and tf2onnx, which Debian 12 does not package: run it
where they are installed (pip install tensorflow tf2onnx), then copy the
.onnx file here. It cannot run on a machine with Debian's packages only.

    python3 export_keras.py --arch VGG16 --out vgg16.onnx
    python3 export_keras.py --model my_model.keras --preprocessing tf \\
        --out my_model.onnx

The file gets rsicam's metadata in metadata_props["rsicam.json"]: the
input size, the Keras preprocessing mode (caffe, tf or torch; rsicam turns
it into mean, std and channel order), the ImageNet labels when they can be
had, and the last 4-D layer as default_layer. Layers are then named by
their Keras names (--layer block5_conv3).
"""
import argparse
import json
import sys

# keras.applications models and the preprocess_input mode each expects
# (keras.applications.<family>.preprocess_input); "none": the model
# rescales its own 0..255 input
MODES = {
    "VGG16": "caffe", "VGG19": "caffe",
    "ResNet50": "caffe", "ResNet101": "caffe", "ResNet152": "caffe",
    "ResNet50V2": "tf", "ResNet101V2": "tf", "ResNet152V2": "tf",
    "InceptionV3": "tf", "InceptionResNetV2": "tf", "Xception": "tf",
    "MobileNet": "tf", "MobileNetV2": "tf",
    "MobileNetV3Small": "none", "MobileNetV3Large": "none",
    "DenseNet121": "torch", "DenseNet169": "torch", "DenseNet201": "torch",
    "EfficientNetB0": "none", "EfficientNetB1": "none",
    "EfficientNetB2": "none", "EfficientNetB3": "none",
}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--arch", help="a keras.applications model name")
    src.add_argument("--model", help="a saved Keras model file")
    p.add_argument("--weights", default="imagenet",
                   help="keras.applications weights: imagenet or none")
    p.add_argument("--preprocessing", choices=["caffe", "tf", "torch", "none"],
                   help="the input's preprocessing (default: the arch's)")
    p.add_argument("--opset", type=int, default=13)
    p.add_argument("--out", required=True)
    return p.parse_args()


def imagenet_labels(tf):
    try:
        path = tf.keras.utils.get_file(
            "imagenet_class_index.json",
            "https://storage.googleapis.com/download.tensorflow.org/data/"
            "imagenet_class_index.json")
        with open(path) as f:
            index = json.load(f)
        return [index[str(k)][1] for k in range(len(index))]
    except Exception as e:  # offline: no labels, classes by number
        print(f"export_keras: no ImageNet labels ({e})", file=sys.stderr)
        return None


def main():
    args = parse_args()
    try:
        import tensorflow as tf
        import tf2onnx
    except ImportError as e:
        sys.exit(f"export_keras: needs tensorflow and tf2onnx ({e}); Debian "
                 "12 has neither: run this where they are installed")
    if args.arch:
        if not hasattr(tf.keras.applications, args.arch):
            sys.exit(f"export_keras: no keras.applications.{args.arch}")
        weights = None if args.weights == "none" else args.weights
        model = getattr(tf.keras.applications, args.arch)(weights=weights)
        mode = args.preprocessing or MODES.get(args.arch)
        if mode is None:
            sys.exit(f"export_keras: give --preprocessing for {args.arch}")
    else:
        model = tf.keras.models.load_model(args.model)
        mode = args.preprocessing
        if mode is None:
            sys.exit("export_keras: give --preprocessing for a saved model")
    _, height, width, channels = model.input_shape
    if channels != 3 or not height or not width:
        sys.exit(f"export_keras: input {model.input_shape} is not "
                 "[N, H, W, 3] with a fixed size")
    spec = (tf.TensorSpec((None, height, width, 3), tf.float32,
                          name="input"),)
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=spec,
                                          opset=args.opset)
    meta = {"input_size": [height, width]}
    if mode == "none":  # the model takes 0..255 and rescales itself
        meta.update(mean=[0, 0, 0], std=[1 / 255] * 3)
    else:
        meta["preprocessing"] = mode
    four_d = [l.name for l in model.layers
              if len(getattr(l, "output_shape", ()) or ()) == 4]
    if four_d:
        meta["default_layer"] = four_d[-1]
    if args.arch and args.weights == "imagenet":
        labels = imagenet_labels(tf)
        if labels:
            meta["labels"] = labels
    entry = proto.metadata_props.add()
    entry.key = "rsicam.json"
    entry.value = json.dumps(meta)
    with open(args.out, "wb") as f:
        f.write(proto.SerializeToString())
    print(f"export_keras: wrote {args.out} ({mode} preprocessing, "
          f"default layer {meta.get('default_layer')})")


if __name__ == "__main__":
    main()
