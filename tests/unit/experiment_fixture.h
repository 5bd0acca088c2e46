/* A small model and images for the experiment suites (test_config,
 * test_experiment), made at test time with the Python that imports torch.
 *
 * Into DIR: m.pt, a scripted CNN with layers conv1 and conv2 (32x32 input,
 * 4 classes named cat, dog, fox, owl; default layer conv2); img0.png ...
 * (48x40 random pixels, so that boxes are scaled to the model's size); and
 * samples.csv listing them with labels and boxes. Seeded: the same files
 * on every run.
 */
#ifndef RSICAM_EXPERIMENT_FIXTURE_H
#define RSICAM_EXPERIMENT_FIXTURE_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "testkit.h"

static const char experiment_fixture_py[] =
    "import json, sys\n"
    "import numpy as np\n"
    "import torch\n"
    "from torch import nn\n"
    "from PIL import Image\n"
    "out, n_images = sys.argv[1], int(sys.argv[2])\n"
    "torch.manual_seed(0)\n"
    "class Net(nn.Module):\n"
    "    def __init__(self):\n"
    "        super().__init__()\n"
    "        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)\n"
    "        self.conv2 = nn.Conv2d(8, 16, 3, stride=2, padding=1)\n"
    "        self.head = nn.Linear(16, 4)\n"
    "    def forward(self, x):\n"
    "        x = torch.relu(self.conv1(x))\n"
    "        x = torch.relu(self.conv2(x))\n"
    "        return self.head(x.mean(dim=(2, 3)))\n"
    "m = torch.jit.script(Net().eval())\n"
    "meta = {'input_size': [32, 32], 'mean': [0.5] * 3, 'std': [0.25] * 3,\n"
    "        'labels': ['cat', 'dog', 'fox', 'owl'],\n"
    "        'default_layer': 'conv2'}\n"
    "torch.jit.save(m, out + '/m.pt',\n"
    "               _extra_files={'rsicam.json': json.dumps(meta)})\n"
    "rng = np.random.default_rng(1)\n"
    "rows = ['image,label,x0,y0,x1,y1']\n"
    "for i in range(n_images):\n"
    "    px = rng.integers(0, 256, size=(40, 48, 3), dtype=np.uint8)\n"
    "    Image.fromarray(px).save(f'{out}/img{i}.png')\n"
    "    rows.append(f'img{i}.png,{i % 4},4,4,30,20')\n"
    "open(out + '/samples.csv', 'w').write('\\n'.join(rows) + '\\n')\n";

/* Makes the fixture in dir (which must exist). */
static void experiment_fixture_make(const char *dir, int n_images)
{
    char *script = NULL;
    ck_assert_int_ge(asprintf(&script, "%s/make_fixture.py", dir), 0);
    FILE *fp = fopen(script, "w");
    ck_assert_msg(fp != NULL, "cannot write %s", script);
    fputs(experiment_fixture_py, fp);
    fclose(fp);
    char *out = NULL;
    int rc =
        tk_sh(&out, "'%s' '%s' '%s' %d", tk_python(), script, dir, n_images);
    ck_assert_msg(rc == 0, "making the fixture failed (%d): %s", rc, out);
    free(out);
    free(script);
}

/* Writes text to dir/name. */
static void experiment_fixture_write(const char *dir, const char *name,
                                     const char *text)
{
    char *path = NULL;
    ck_assert_int_ge(asprintf(&path, "%s/%s", dir, name), 0);
    FILE *fp = fopen(path, "w");
    ck_assert_msg(fp != NULL, "cannot write %s", path);
    fputs(text, fp);
    fclose(fp);
    free(path);
}

#endif
